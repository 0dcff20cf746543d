import Foundation
import O2OAPI

/// The readable API reference at `/docs`, rendered once from the embedded spec: operations by tag
/// with their parameters, bodies and responses, then every schema.
enum APIReference {
    static let html: String = render()

    private static func render() -> String {
        guard let spec = try? JSONSerialization.jsonObject(with: Data(OpenAPISpec.json.utf8)) as? [String: Any] else {
            return "<p>spec unreadable</p>"
        }
        let info = spec["info"] as? [String: Any] ?? [:]
        let paths = spec["paths"] as? [String: [String: Any]] ?? [:]
        let components = spec["components"] as? [String: Any] ?? [:]
        let schemas = components["schemas"] as? [String: [String: Any]] ?? [:]
        let sharedParams = components["parameters"] as? [String: [String: Any]] ?? [:]
        let sharedResponses = components["responses"] as? [String: [String: Any]] ?? [:]

        var byTag: [String: [(String, String, [String: Any])]] = [:]
        for (path, methods) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let op = methods[method] as? [String: Any] else { continue }
                let tag = (op["tags"] as? [String])?.first ?? "other"
                byTag[tag, default: []].append((method.uppercased(), path, op))
            }
        }
        let tags = ((spec["tags"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []) + byTag.keys.sorted()
        var seen = Set<String>()
        var toc = ""
        var body = ""
        for tag in tags where seen.insert(tag).inserted {
            guard let ops = byTag[tag] else { continue }
            toc += "<h2>\(esc(tag))</h2>"
            body += "<h2 id=\"tag-\(esc(tag))\">\(esc(tag))</h2>"
            for (method, path, op) in ops.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) {
                let id = op["operationId"] as? String ?? "\(method)\(path)"
                toc += "<a href=\"#\(esc(id))\"><code>\(method)</code> \(esc(path))</a>"
                body += "<section class=\"op\" id=\"\(esc(id))\"><h3><span class=\"m m-\(method.lowercased())\">\(method)</span> <code>/api/v1\(esc(path))</code></h3>"
                body += "<p class=\"muted\">operationId <code>\(esc(id))</code>\((op["security"] as? [Any])?.isEmpty == true ? " · no authentication" : "")</p>"
                if let s = op["summary"] as? String { body += "<p>\(esc(s))</p>" }
                if let d = op["description"] as? String { body += paragraphs(d) }
                let params = (op["parameters"] as? [[String: Any]] ?? []).map { p -> [String: Any] in
                    if let ref = p["$ref"] as? String { return sharedParams[refName(ref)] ?? [:] }
                    return p
                }
                if !params.isEmpty {
                    body += "<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>"
                    for p in params {
                        let req = (p["required"] as? Bool) == true ? " <span class=\"tag\">required</span>" : ""
                        body += "<tr><td><code>\(esc(p["name"] as? String ?? ""))</code>\(req)</td><td>\(esc(p["in"] as? String ?? ""))</td><td>\(typeText(p["schema"] as? [String: Any]))</td><td>\(esc(p["description"] as? String ?? ""))</td></tr>"
                    }
                    body += "</tbody></table>"
                }
                if let rb = op["requestBody"] as? [String: Any], let content = rb["content"] as? [String: Any] {
                    for (type, media) in content {
                        body += "<p>Request body <code>\(esc(type))</code>: \(typeText((media as? [String: Any])?["schema"] as? [String: Any]))</p>"
                    }
                }
                if let responses = op["responses"] as? [String: [String: Any]] {
                    body += "<ul class=\"responses\">"
                    for (status, r) in responses.sorted(by: { $0.key < $1.key }) {
                        var resp = r
                        if let ref = r["$ref"] as? String { resp = sharedResponses[refName(ref)] ?? [:] }
                        var schema = ""
                        if let content = resp["content"] as? [String: [String: Any]], let (type, media) = content.first {
                            schema = " — <code>\(esc(type))</code> \(typeText(media["schema"] as? [String: Any]))"
                        }
                        body += "<li><b>\(esc(status))</b> \(esc(resp["description"] as? String ?? ""))\(schema)</li>"
                    }
                    body += "</ul>"
                }
                body += "</section>"
            }
        }
        toc += "<h2>schemas</h2>"
        body += "<h2 id=\"schemas\">Schemas</h2>"
        for (name, schema) in schemas.sorted(by: { $0.key < $1.key }) {
            toc += "<a href=\"#schema-\(esc(name))\">\(esc(name))</a>"
            body += "<section class=\"schema\" id=\"schema-\(esc(name))\"><h3>\(esc(name))</h3>"
            if let d = schema["description"] as? String { body += paragraphs(d) }
            if let values = schema["enum"] as? [Any] {
                body += "<p>One of: " + values.map { "<code>\(esc("\($0)"))</code>" }.joined(separator: " ") + "</p>"
            }
            if let props = schema["properties"] as? [String: [String: Any]] {
                let required = Set(schema["required"] as? [String] ?? [])
                body += "<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>"
                for (field, p) in props.sorted(by: { $0.key < $1.key }) {
                    let req = required.contains(field) ? " <span class=\"tag\">required</span>" : ""
                    body += "<tr><td><code>\(esc(field))</code>\(req)</td><td>\(typeText(p))</td><td>\(esc(p["description"] as? String ?? ""))</td></tr>"
                }
                body += "</tbody></table>"
            }
            body += "</section>"
        }
        let title = info["title"] as? String ?? "API"
        let version = info["version"] as? String ?? ""
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
        <title>\(esc(title)) reference</title><style>\(baseCSS)
        .op,.schema{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
        .m{display:inline-block;min-width:4rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .4rem}
        .m-get{background:#1e8e3e}.m-post{background:#0f62fe}.m-patch{background:#b26a00}.m-put{background:#6f42c1}.m-delete{background:#b00020}
        nav a{font-size:.85rem;padding:.3rem .6rem}code{font-size:.9em}</style></head><body>
        <header class="top"><span class="brand">\(esc(title))</span><span class="muted">v\(esc(version)) · OpenAPI 3.1 · base <code>/api/v1</code></span>
        <span class="spacer"></span><a href="/openapi.yaml">openapi.yaml</a><a href="/console">console</a></header>
        <div class="layout"><nav>\(toc)</nav><main><h1>\(esc(title)) reference</h1>\(paragraphs(info["description"] as? String ?? ""))\(body)</main></div>
        </body></html>
        """
    }

    private static func refName(_ ref: String) -> String { String(ref.split(separator: "/").last ?? "") }

    private static func typeText(_ schema: [String: Any]?) -> String {
        guard let schema else { return "" }
        if let ref = schema["$ref"] as? String {
            let n = refName(ref)
            return "<a href=\"#schema-\(esc(n))\">\(esc(n))</a>"
        }
        var t = schema["type"] as? String ?? "any"
        if t == "array" { return "array of " + typeText(schema["items"] as? [String: Any]) }
        if let f = schema["format"] as? String { t += " (\(f))" }
        var text = esc(t)
        if let values = schema["enum"] as? [Any] { text += ": " + values.map { "<code>\(esc("\($0)"))</code>" }.joined(separator: " | ") }
        var limits: [String] = []
        if let v = schema["minimum"] { limits.append("≥ \(v)") }
        if let v = schema["maximum"] { limits.append("≤ \(v)") }
        if let v = schema["maxLength"] { limits.append("≤ \(v) chars") }
        if let v = schema["default"] { limits.append("default \(v)") }
        if !limits.isEmpty { text += " <span class=\"muted\">(\(esc(limits.joined(separator: ", "))))</span>" }
        return text
    }

    /// Paragraphs from the spec's Markdown-ish text: blank lines split paragraphs; `code` and **bold** kept.
    private static func paragraphs(_ text: String) -> String {
        text.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.map { p in
            var s = esc(p)
            s = inline(s, marker: "**", open: "<b>", close: "</b>")
            s = inline(s, marker: "`", open: "<code>", close: "</code>")
            return "<p>\(s)</p>"
        }.joined()
    }

    private static func inline(_ s: String, marker: String, open: String, close: String) -> String {
        let parts = s.components(separatedBy: marker)
        guard parts.count >= 3 else { return s }
        var out = ""
        for (i, part) in parts.enumerated() {
            if i == 0 { out += part; continue }
            out += (i % 2 == 1 ? open : close) + part
        }
        if parts.count % 2 == 0 { return s }
        return out
    }
}
