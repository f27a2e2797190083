//! The card's stylesheets, adopted by the shadow root.
//!
//! `:host` declarations are `!important` on purpose: for important rules the shadow tree wins
//! over the page (CSS Scoping §3.3), so no host stylesheet can hide, move or restyle the card.
//! Inner elements get explicit sizes so nothing inherited from the page leaks in. Colours are
//! custom properties so light, dark and the owner's brand colour are one rule each.

use soovita_wire::{Appearance, Position};

/// The stylesheet every card shares.
pub const CSS: &str = r#"
:host{all:initial!important;display:block!important;z-index:2147483000!important;contain:layout style!important}
*{box-sizing:border-box;margin:0}
.card{--bg:#fff;--fg:#1f1f24;--muted:#55555f;--line:#767682;--soft:#f4f4f7;
position:relative;width:min(380px,calc(100vw - 32px));max-height:calc(100vh - 32px);overflow:auto;padding:16px;
border-radius:12px;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);border:1px solid var(--line);box-shadow:0 8px 24px rgba(0,0,0,.18)}
.card.dark{--bg:#1d1d22;--fg:#f3f3f6;--muted:#c2c2cc;--line:#8e8e9a;--soft:#2b2b32}
@media (prefers-color-scheme:dark){.card.auto{--bg:#1d1d22;--fg:#f3f3f6;--muted:#c2c2cc;--line:#8e8e9a;--soft:#2b2b32}}
.card.bar{width:100%;max-width:none;border-radius:0}
.card.inline{width:100%;max-height:none;box-shadow:none}
.question{font-size:15px;font-weight:600;margin-inline-end:28px;margin-bottom:12px;display:block}
.question:focus{outline:none}
.hint,.progress{font-size:13px;color:var(--muted);margin-bottom:4px}
.scale{display:grid;gap:4px}
.points-11{grid-template-columns:repeat(11,1fr)}.points-7{grid-template-columns:repeat(7,1fr)}
.points-5{grid-template-columns:repeat(5,1fr)}.list{grid-template-columns:1fr}
button{font:inherit;color:inherit;cursor:pointer}
.scale button{min-width:24px;min-height:36px;padding:0 8px;border:1px solid var(--line);border-radius:6px;
background:var(--soft);color:var(--fg);font-size:14px}
.list button{text-align:start}
.scale button:hover,.scale button[aria-checked=true]{background:var(--brand);border-color:var(--brand);color:var(--on-brand)}
.scale button[aria-checked=true]{font-weight:700}
.ends{display:flex;justify-content:space-between;font-size:12px;color:var(--muted);margin-top:6px}
label{display:block;margin-bottom:4px}
textarea,input[type=email]{display:block;width:100%;font:inherit;font-size:15px;padding:8px;
border:1px solid var(--line);border-radius:6px;color:var(--fg);background:var(--bg)}
textarea{resize:vertical}
input[aria-invalid=true]{border:2px solid #c01c28}
.error{color:var(--fg);font-size:13px;min-height:1em;margin-top:4px}
.error:not(:empty)::before{content:"⚠ ";color:#c01c28}
fieldset{border:0;padding:0;margin-top:12px}
legend{font-size:14px;margin-bottom:6px;padding:0}
.check{display:flex;align-items:flex-start;gap:8px;margin-bottom:6px}
.check input{width:18px;height:18px;margin-top:2px;accent-color:var(--brand);flex:none}
.check label{margin:0;font-size:14px}
.actions{display:flex;justify-content:flex-end;gap:8px;margin-top:12px}
.primary,.secondary{min-height:36px;padding:0 14px;border-radius:6px;border:1px solid var(--brand)}
.primary{background:var(--brand);color:var(--on-brand)}
.secondary{background:var(--bg);color:var(--fg)}
.close{position:absolute;top:8px;inset-inline-end:8px;width:28px;height:28px;border:0;border-radius:6px;
background:transparent;font-size:20px;line-height:1;color:var(--muted)}
:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
.ack,.reward{margin-top:8px}
.code{font-family:ui-monospace,monospace;font-size:16px;letter-spacing:.05em}
a{color:var(--fg);text-decoration:underline}
.hp{position:absolute;left:-10000px;width:1px;height:1px;opacity:0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (max-width:400px){.points-11{grid-template-columns:repeat(6,1fr)}}
@media (prefers-reduced-motion:no-preference){.card{animation:rise .2s ease-out}}
@keyframes rise{from{opacity:0;transform:translateY(8px)}}
"#;

/// The rules that depend on the site's appearance: where the host sits, and the brand colour
/// with a text colour that stays readable on it.
pub fn host_css(appearance: &Appearance) -> String {
    let place = match &appearance.position {
        Position::BottomRight => {
            "position:fixed!important;right:16px!important;bottom:16px!important"
        }
        Position::BottomLeft => {
            "position:fixed!important;left:16px!important;bottom:16px!important"
        }
        Position::TopRight => "position:fixed!important;right:16px!important;top:16px!important",
        Position::TopLeft => "position:fixed!important;left:16px!important;top:16px!important",
        Position::BottomBar => {
            "position:fixed!important;left:0!important;right:0!important;bottom:0!important"
        }
        Position::Inline { .. } => "position:relative!important",
    };
    let brand = &appearance.brand_color;
    let on_brand = readable_on(brand);
    [
        ":host{",
        place,
        ";--brand:",
        brand,
        "!important;--on-brand:",
        on_brand,
        "!important}",
    ]
    .concat()
}

/// Black or white, whichever reads better on the `#rrggbb` colour, by the W3C colour
/// brightness formula; the exact WCAG luminance needs `powf`, which costs the wasm kilobytes.
pub fn readable_on(color: &str) -> &'static str {
    let channel = |i: usize| {
        u32::from(u8::from_str_radix(color.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0))
    };
    let brightness = (299 * channel(1) + 587 * channel(3) + 114 * channel(5)) / 1000;
    if brightness < 150 {
        "#fff"
    } else {
        "#000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_the_brand_colour_is_whichever_of_black_and_white_reads_better() {
        assert_eq!(readable_on("#1a5fb4"), "#fff");
        assert_eq!(readable_on("#ffd500"), "#000");
        assert_eq!(readable_on("#000000"), "#fff");
    }

    #[test]
    fn the_host_sits_where_the_owner_chose() {
        let css = host_css(&Appearance {
            position: Position::TopLeft,
            ..Appearance::default()
        });
        assert!(
            css.contains("left:16px!important;top:16px!important"),
            "{css}"
        );
        assert!(css.contains("--brand:#1a5fb4!important"), "{css}");
    }
}
