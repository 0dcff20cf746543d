/// Escapes text for HTML element content and quoted attribute values.
func esc(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}

/// The shared stylesheet: readable on a phone, a store tablet and a desktop; no web fonts, no CDN.
let baseCSS = """
:root{--fg:#1d2430;--muted:#5b6575;--line:#d9dee7;--bg:#f6f7f9;--accent:#0f62fe;--ok:#1e8e3e;--warn:#b26a00}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:1rem;padding:.6rem 1rem;background:#fff;border-bottom:1px solid var(--line);flex-wrap:wrap}
header.top .brand{font-weight:700;font-size:1.1rem}header.top .spacer{flex:1}
.layout{display:flex;min-height:calc(100vh - 3.2rem)}
nav{width:15rem;background:#fff;border-right:1px solid var(--line);padding:1rem .5rem}
nav h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:1rem .5rem .3rem}
nav a{display:block;padding:.55rem .75rem;border-radius:6px;color:var(--fg)}nav a.active{background:#e8efff;color:var(--accent);font-weight:600}
main{flex:1;padding:1.25rem;min-width:0}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}
td:first-child{white-space:nowrap}th,td{padding:.6rem .7rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}th{background:#fafbfc;font-size:.85rem;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:1rem;margin-bottom:1rem}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem}.card .n{font-size:1.8rem;font-weight:700}
.tag{display:inline-block;padding:.05rem .5rem;border-radius:999px;background:#eef1f5;font-size:.8rem;margin:0 .2rem .2rem 0}
.tag.ok{background:#e6f4ea;color:var(--ok)}.tag.warn{background:#fff4e0;color:var(--warn)}
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}
input,select,button{font:inherit;padding:.5rem .7rem;border:1px solid var(--line);border-radius:6px;min-height:2.6rem}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}button.link{background:none;color:var(--accent);border:none}
dl.grid{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;background:#fff;border:1px solid var(--line);padding:1rem;border-radius:8px}
dl.grid dt{color:var(--muted)}dl.grid dd{margin:0}
.login{max-width:24rem;margin:10vh auto;background:#fff;border:1px solid var(--line);border-radius:10px;padding:2rem}
.login label{display:block;margin:.8rem 0 .3rem}.login input{width:100%}.login button{width:100%;margin-top:1.2rem}
.error{color:#b00020;margin:.5rem 0}.muted{color:var(--muted)}
@media (max-width:800px){.layout{flex-direction:column}nav{width:auto;border-right:none;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.25rem}nav h2{display:none}
table.responsive thead{display:none}table.responsive tr{display:block;border-bottom:1px solid var(--line)}table.responsive td{display:block;border:none;padding:.3rem .7rem}}
"""
