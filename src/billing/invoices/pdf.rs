//! The invoice as a PDF, laid out like the invoice page: parties, dates, lines, totals.
//! Standard Helvetica (no font embedding) with WinAnsi encoding.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use super::model::LineKind;
use super::service::Party;
use super::store::{CreditNoteRow, InvoiceRow, LineRow};
use crate::billing::money;
use crate::web::AppResult;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const BOTTOM: f32 = 70.0;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the standard AFM metrics.
const WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// UTF-8 → WinAnsi bytes; characters the standard fonts cannot show become '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '→' => b'>',
            _ => b'?',
        })
        .collect()
}

fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| match c {
            ' '..='~' => f32::from(WIDTHS[(c as usize) - 32]),
            _ => 556.0,
        })
        .sum::<f32>()
        * size
        / 1000.0
}

/// Cuts text to fit `width`, with an ellipsis.
fn fit(text: &str, size: f32, width: f32) -> String {
    if text_width(text, size) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if text_width(&format!("{out}{c}…"), size) > width {
            break;
        }
        out.push(c);
    }
    format!("{out}…")
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

impl Writer {
    fn new() -> Writer {
        Writer {
            pages: vec![Content::new()],
            y: PAGE_H - 60.0,
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("at least one page")
    }

    fn text(&mut self, x: f32, y: f32, font: Name<'static>, size: f32, text: &str) {
        let bytes = win_ansi(text);
        let c = self.page();
        c.begin_text();
        c.set_font(font, size);
        c.next_line(x, y);
        c.show(Str(&bytes));
        c.end_text();
    }

    fn right(&mut self, right_x: f32, y: f32, font: Name<'static>, size: f32, text: &str) {
        let w = text_width(text, size);
        self.text(right_x - w, y, font, size, text);
    }

    fn rule(&mut self, y: f32) {
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(LEFT, y);
        c.line_to(RIGHT, y);
        c.stroke();
    }

    /// Moves down `dy`, starting a new page when the space runs out.
    fn advance(&mut self, dy: f32) {
        self.y -= dy;
        if self.y < BOTTOM {
            self.pages.push(Content::new());
            self.y = PAGE_H - 60.0;
        }
    }
}

fn party_lines(p: &Party) -> Vec<String> {
    let mut lines = vec![p.name.clone()];
    lines.extend(
        p.address
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from),
    );
    if !p.country.is_empty() {
        lines.push(p.country.clone());
    }
    if !p.email.is_empty() {
        lines.push(p.email.clone());
    }
    if !p.tax_id.is_empty() {
        lines.push(format!("Tax id: {}", p.tax_id));
    }
    lines
}

pub fn render(
    inv: &InvoiceRow,
    lines: &[LineRow],
    credits: &[CreditNoteRow],
    status_text: &str,
) -> AppResult<Vec<u8>> {
    let mut w = Writer::new();
    let m = |minor: i64| money::format_money(minor, &inv.currency);
    let title = match &inv.number {
        Some(n) => format!("Invoice {n}"),
        None => "Draft invoice (not valid for payment)".to_string(),
    };
    let top = w.y;
    w.text(LEFT, top, BOLD, 18.0, &title);
    w.right(RIGHT, top, BOLD, 12.0, status_text);
    w.advance(34.0);

    let seller = inv.seller()?.unwrap_or_default();
    let buyer = inv.buyer()?.unwrap_or_else(|| Party {
        name: inv.tenant_name.clone(),
        ..Party::default()
    });
    let y0 = w.y;
    w.text(LEFT, y0, BOLD, 10.0, "From");
    w.text(300.0, y0, BOLD, 10.0, "Bill to");
    let (s, b) = (party_lines(&seller), party_lines(&buyer));
    for i in 0..s.len().max(b.len()) {
        let y = y0 - 14.0 * (i as f32 + 1.0);
        if let Some(l) = s.get(i).filter(|l| !l.is_empty()) {
            w.text(LEFT, y, REGULAR, 10.0, &fit(l, 10.0, 230.0));
        }
        if let Some(l) = b.get(i) {
            w.text(300.0, y, REGULAR, 10.0, &fit(l, 10.0, 245.0));
        }
    }
    w.advance(14.0 * (s.len().max(b.len()) as f32 + 2.0));
    let dates = [
        ("Issue date", inv.issue_date.as_str()),
        ("Due date", inv.due_date.as_str()),
        ("Currency", inv.currency.as_str()),
    ];
    for (i, (k, v)) in dates.iter().enumerate() {
        let x = LEFT + 170.0 * i as f32;
        let y = w.y;
        w.text(x, y, BOLD, 9.0, k);
        w.text(
            x,
            y - 13.0,
            REGULAR,
            10.0,
            if v.is_empty() { "-" } else { v },
        );
    }
    w.advance(40.0);

    let header_y = w.y;
    w.text(LEFT, header_y, BOLD, 10.0, "Description");
    w.right(360.0, header_y, BOLD, 10.0, "Quantity");
    w.right(450.0, header_y, BOLD, 10.0, "Unit price");
    w.right(RIGHT, header_y, BOLD, 10.0, "Amount");
    w.rule(header_y - 5.0);
    w.advance(20.0);
    for l in lines {
        let sign = if l.kind == LineKind::Discount { -1 } else { 1 };
        let y = w.y;
        let kind = if l.kind == LineKind::Item {
            String::new()
        } else {
            format!("[{}] ", l.kind.as_str().to_lowercase())
        };
        w.text(
            LEFT,
            y,
            REGULAR,
            10.0,
            &fit(&format!("{kind}{}", l.description), 10.0, 240.0),
        );
        w.right(360.0, y, REGULAR, 10.0, &l.quantity);
        w.right(450.0, y, REGULAR, 10.0, &m(l.unit_price_minor));
        w.right(RIGHT, y, REGULAR, 10.0, &m(sign * l.amount_minor));
        w.advance(16.0);
    }
    let ry = w.y + 8.0;
    w.rule(ry);
    w.advance(8.0);
    let mut totals: Vec<(String, i64, bool)> = vec![("Subtotal".into(), inv.subtotal_minor, false)];
    if inv.discount_minor > 0 {
        totals.push(("Discount".into(), -inv.discount_minor, false));
    }
    totals.push((
        format!(
            "{} ({}%)",
            if inv.tax_name.is_empty() {
                "Tax"
            } else {
                &inv.tax_name
            },
            inv.tax_rate
        ),
        inv.tax_minor,
        false,
    ));
    totals.push(("Total".into(), inv.total_minor, true));
    for c in credits {
        totals.push((format!("Credit note {}", c.number), -c.amount_minor, false));
    }
    if inv.paid_minor > 0 {
        totals.push(("Paid".into(), -(inv.paid_minor - inv.refunded_minor), false));
    }
    if inv.number.is_some() {
        totals.push(("Amount due".into(), inv.due_minor, true));
    }
    for (label, amount, bold) in totals {
        let font = if bold { BOLD } else { REGULAR };
        let y = w.y;
        w.right(450.0, y, font, 10.0, &label);
        w.right(RIGHT, y, font, 10.0, &m(amount));
        w.advance(15.0);
    }
    if !inv.notes.is_empty() {
        w.advance(10.0);
        let y = w.y;
        w.text(LEFT, y, BOLD, 10.0, "Notes");
        w.advance(14.0);
        for line in inv.notes.lines() {
            let y = w.y;
            w.text(LEFT, y, REGULAR, 10.0, &fit(line, 10.0, RIGHT - LEFT));
            w.advance(13.0);
        }
    }
    Ok(finish(w.pages))
}

fn finish(pages: Vec<Content>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let n = pages.len() as i32;
    let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(10 + 2 * i)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(n);
    for (i, content) in pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_measures_text() {
        assert_eq!(
            win_ansi("Café €5 – ok ☃"),
            b"Caf\xe9 \x805 \x96 ok ?".to_vec()
        );
        assert_eq!(text_width("0", 10.0), 5.56);
        assert!(fit("A very long description that will not fit", 10.0, 60.0).ends_with('…'));
        assert_eq!(fit("short", 10.0, 100.0), "short");
    }
}
