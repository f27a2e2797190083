//! The card's stylesheet, adopted by the shadow root.
//!
//! `:host` declarations are `!important` on purpose: for important rules the shadow tree wins
//! over the page (CSS Scoping §3.3), so no host stylesheet can hide, move or restyle the card.
//! Inner elements get explicit sizes so nothing inherited from the page leaks in.

/// The whole stylesheet.
pub const CSS: &str = r#"
:host{all:initial!important;position:fixed!important;right:16px!important;bottom:16px!important;
z-index:2147483000!important;display:block!important;contain:layout style!important}
*{box-sizing:border-box;margin:0}
.card{position:relative;width:min(360px,calc(100vw - 32px));padding:16px;border-radius:12px;
font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f1f24;background:#fff;
border:1px solid #c9c9d1;box-shadow:0 8px 24px rgba(0,0,0,.18)}
.question{font-size:15px;font-weight:600;margin:0 28px 12px 0;display:block}
.question:focus{outline:none}
.scale{display:grid;grid-template-columns:repeat(11,1fr);gap:4px}
button{font:inherit;color:inherit;cursor:pointer}
.scale button{min-width:24px;min-height:36px;padding:0;border:1px solid #8a8a96;border-radius:6px;
background:#f6f6f8;font-size:14px}
.scale button:hover,.scale button[aria-checked=true]{background:#1a5fb4;border-color:#1a5fb4;color:#fff}
.ends{display:flex;justify-content:space-between;font-size:12px;color:#55555f;margin-top:6px}
textarea{display:block;width:100%;font:inherit;font-size:15px;padding:8px;border:1px solid #8a8a96;
border-radius:6px;resize:vertical;color:#1f1f24;background:#fff}
.actions{display:flex;justify-content:flex-end;gap:8px;margin-top:10px}
.primary,.secondary{min-height:36px;padding:0 14px;border-radius:6px;border:1px solid #1a5fb4}
.primary{background:#1a5fb4;color:#fff}
.secondary{background:#fff;color:#1a5fb4}
.close{position:absolute;top:8px;right:8px;width:28px;height:28px;border:0;border-radius:6px;
background:transparent;font-size:20px;line-height:1;color:#55555f}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
.hp{position:absolute;left:-10000px;width:1px;height:1px;opacity:0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (max-width:400px){.scale{grid-template-columns:repeat(6,1fr)}}
@media (prefers-reduced-motion:no-preference){.card{animation:rise .2s ease-out}}
@keyframes rise{from{opacity:0;transform:translateY(8px)}}
"#;
