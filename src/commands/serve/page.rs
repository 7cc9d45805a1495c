//! Small HTML pages for people who follow a link: no JavaScript, readable
//! on a phone, every piece of outside text escaped.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `s` safe inside HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls (and bidi overrides) have no business in a page.
            c if c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title` and `body` are HTML the caller built (with [`esc`]).
pub fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title} · escalate</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:1em auto;padding:0 1em}}\
         button{{font-size:1.1em;padding:.6em 1.2em}}dt{{font-weight:bold}}</style>\
         </head><body><h1>{title}</h1>\n{body}\n</body></html>\n"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // The page is ours alone: no scripts, no framing, no referrer
            // (the token is in the URL).
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn outside_text_cannot_open_a_tag_or_an_attribute() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{202e}b\u{7}"), "a\u{fffd}b\u{fffd}");
    }
}
