// mPanel's only script of its own (the CSP forbids inline code): buttons marked data-print
// open the browser's print dialog. Delegated, so it also works on htmx-swapped content.
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});
