//! Known automated clients. Their posts get a 2xx, so they learn nothing and do not retry,
//! but nothing is stored; `soovita_bot_submissions_total` counts them.

/// Substrings of `User-Agent` that only automated clients send. Headless browsers are not
/// listed: they are also how real sites test their pages, and those answers go to a test site.
const BOT_MARKERS: [&str; 11] = [
    "bot",
    "crawler",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
];

/// Whether this `User-Agent` (or its absence: every browser sends one) belongs to an
/// automated client.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(agent) = user_agent.map(str::to_ascii_lowercase) else {
        return true;
    };
    agent.trim().is_empty() || BOT_MARKERS.iter().any(|marker| agent.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::is_bot;

    #[test]
    fn crawlers_and_scripts_are_bots_and_browsers_are_not() {
        for agent in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.5.0",
            "python-requests/2.31",
            "Go-http-client/1.1",
            "",
        ] {
            assert!(is_bot(Some(agent)), "{agent}");
        }
        assert!(is_bot(None));
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36",
        ] {
            assert!(!is_bot(Some(agent)), "{agent}");
        }
    }
}
