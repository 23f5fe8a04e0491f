//! Escaping text for the markup formats the tools write: the reports' HTML pages and the
//! sweep's JUnit XML. One escaper, two dialects, so the two never drift apart.

/// Escapes text for HTML (element content and quoted attribute values).
pub fn escape_html(s: &str) -> String {
    escape(s, "&#39;", false)
}

/// Escapes text for XML 1.0 (element content and quoted attribute values); drops the
/// control characters XML 1.0 cannot hold (all below U+0020 but tab and newline).
pub fn escape_xml(s: &str) -> String {
    escape(s, "&apos;", true)
}

fn escape(s: &str, apostrophe: &str, drop_controls: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apostrophe),
            c if drop_controls && (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects() {
        let s = "a<b>&\"c'\u{1}\n";
        assert_eq!(escape_html(s), "a&lt;b&gt;&amp;&quot;c&#39;\u{1}\n");
        assert_eq!(escape_xml(s), "a&lt;b&gt;&amp;&quot;c&apos;\n");
    }
}
