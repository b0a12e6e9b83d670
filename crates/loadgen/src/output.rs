//! A result: a few small tables for humans and one JSON object for scripts.

use serde_json::Value;

pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(String::len).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.len());
            }
        }
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .enumerate()
                .take(cols)
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = format!("{}\n{}\n", self.title, line(&self.header));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

pub struct Report {
    pub tables: Vec<Table>,
    pub notes: Vec<String>,
    pub json: Value,
    /// A check failed (errors, wrong answers, deadline hit): exit status 1.
    pub failed: bool,
}

impl Report {
    pub fn print(&self, json: bool) {
        for t in &self.tables {
            println!("{}", t.render());
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        if json {
            println!("{}", self.json);
        }
    }
}

/// Milliseconds with two decimals, for tables.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Milliseconds rounded to the microsecond, for JSON.
pub fn ms_json(d: std::time::Duration) -> Value {
    Value::from((d.as_secs_f64() * 1_000_000.0).round() / 1000.0)
}

pub fn rate(count: usize, elapsed: std::time::Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_columns() {
        let mut t = Table::new("t", &["name", "value"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["long name".into(), "12345".into()]);
        assert_eq!(t.render(), "t\nname       value\na              1\nlong name  12345\n");
    }
}
