//! The stylesheet's syntax, checked without a browser: an unclosed block (such as the
//! `@media print {` that once made every later rule print-only) fails here, in CI.

/// Where the braces of `css` stop balancing, outside comments and strings: `Err(line)`.
fn check_blocks(css: &str) -> Result<(), String> {
    let mut depth: Vec<(usize, String)> = Vec::new();
    let mut line = 1;
    let mut prelude = String::new();
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                prelude.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return Err(format!("comment opened near line {line} never ends")),
                        Some('\n') => line += 1,
                        Some('/') if prev == '*' => break,
                        Some(ch) => prev = ch,
                    }
                }
            }
            '"' | '\'' => {
                let quote = c;
                loop {
                    match chars.next() {
                        None | Some('\n') => {
                            return Err(format!("string opened on line {line} never ends"));
                        }
                        Some('\\') => {
                            chars.next();
                        }
                        Some(ch) if ch == quote => break,
                        Some(_) => {}
                    }
                }
                prelude.push_str("\"\"");
            }
            '{' => {
                depth.push((line, prelude.trim().to_string()));
                prelude.clear();
            }
            '}' => {
                if depth.pop().is_none() {
                    return Err(format!("line {line}: `}}` closes nothing"));
                }
                prelude.clear();
            }
            ';' => {
                if depth.is_empty() && !prelude.trim_start().starts_with('@') {
                    return Err(format!(
                        "line {line}: a declaration outside any rule: {}",
                        prelude.trim()
                    ));
                }
                prelude.clear();
            }
            _ => prelude.push(c),
        }
    }
    match depth.last() {
        None => Ok(()),
        Some((line, what)) => Err(format!("line {line}: `{what} {{` is never closed")),
    }
}

/// A rule nested in a plain style rule is CSS nesting, which we do not use: it is the sign of
/// a block left open (a `@media` inside a `@media` is fine, a selector inside a selector not).
fn check_no_accidental_nesting(css: &str) -> Result<(), String> {
    let stripped = strip_comments(css);
    let mut stack: Vec<bool> = Vec::new(); // true: an at-rule block (may hold rules)
    let mut prelude = String::new();
    for c in stripped.chars() {
        match c {
            '{' => {
                let at = prelude.trim().starts_with('@');
                if let Some(false) = stack.last() {
                    return Err(format!(
                        "`{}` is nested inside a style rule",
                        prelude.trim()
                    ));
                }
                stack.push(at);
                prelude.clear();
            }
            '}' => {
                stack.pop();
                prelude.clear();
            }
            ';' => prelude.clear(),
            _ => prelude.push(c),
        }
    }
    Ok(())
}

fn strip_comments(css: &str) -> String {
    let mut out = String::new();
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn app_css_blocks_are_balanced() {
    let css = include_str!("../../static/app.css");
    check_blocks(css).unwrap();
    check_no_accidental_nesting(css).unwrap();
}

#[test]
fn the_checker_catches_an_unclosed_media_block() {
    let broken =
        "a { color: red; }\n@media print {\n  header { display: none; }\n.x { color: blue; }\n";
    let err = check_blocks(broken).unwrap_err();
    assert!(
        err.contains("line 2") && err.contains("@media print"),
        "{err}"
    );
    assert!(check_blocks("a { b: c; } }").is_err());
    assert!(check_blocks("a { content: \"}\"; } /* { */").is_ok());
    assert!(check_blocks("color: red;").is_err());
    // the old stylesheet's shape: a second @media opened inside the first one's rules
    let nested = "@media print {\n  tr { x: y; }\n.mono { a: b; }\n.recovery li { c: d; }\n}";
    assert!(check_blocks(nested).is_ok());
    assert!(check_no_accidental_nesting("@media print { a { b: c; } }").is_ok());
    assert!(check_no_accidental_nesting("a { b: c; .x { d: e; } }").is_err());
}
