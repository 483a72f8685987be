// rampart's API page: renders the served OpenAPI document and sends
// requests with fetch. Shipped inside the rampart crate: no CDN, no inline
// script, so the page's Content-Security-Policy allows only 'self'.
(function () {
  "use strict";
  const main = document.getElementById("operations");
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of [].concat(children || [])) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function resolve(spec, value) {
    let seen = 0;
    while (value && value.$ref && seen++ < 20) {
      const path = value.$ref.replace(/^#\//, "").split("/").map(function (p) {
        return p.replace(/~1/g, "/").replace(/~0/g, "~");
      });
      value = path.reduce(function (v, k) { return v ? v[k] : undefined; }, spec);
    }
    return value;
  }

  function exampleOf(spec, schema, depth) {
    schema = resolve(spec, schema) || {};
    if (depth > 6) return null;
    if (schema.example !== undefined) return schema.example;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    const alt = schema.oneOf || schema.anyOf || schema.allOf;
    if (alt && alt.length) return exampleOf(spec, alt[0], depth + 1);
    switch (schema.type) {
      case "object": {
        const out = {};
        for (const [name, prop] of Object.entries(schema.properties || {})) {
          if ((schema.required || []).includes(name)) out[name] = exampleOf(spec, prop, depth + 1);
        }
        return out;
      }
      case "array": return [exampleOf(spec, schema.items || {}, depth + 1)];
      case "integer": case "number": return schema.minimum !== undefined ? schema.minimum : 1;
      case "boolean": return true;
      default: return schema.format === "date-time" ? new Date().toISOString() : "string";
    }
  }

  function basePath(spec) {
    const url = (spec.servers && spec.servers[0] && spec.servers[0].url) || "";
    try { return new URL(url, window.location.origin).pathname.replace(/\/$/, ""); }
    catch (e) { return ""; }
  }

  function operationView(spec, base, path, method, op, pathParams) {
    const params = (pathParams || []).concat(op.parameters || []).map(function (p) { return resolve(spec, p); })
      .filter(function (p) { return p && p.in !== "cookie"; });
    const inputs = params.map(function (p) {
      const schema = resolve(spec, p.schema) || {};
      const input = el("input", { name: p.name, "data-in": p.in, placeholder: (schema.type || "") + (p.required ? " (required)" : "") });
      if (p.example !== undefined) input.value = p.example;
      else if (schema.example !== undefined) input.value = schema.example;
      else if (p.in === "path") input.value = String(exampleOf(spec, schema, 0));
      return el("label", {}, [p.in + " " + p.name, input]);
    });
    const bodySpec = resolve(spec, op.requestBody);
    let textarea = null;
    if (bodySpec && bodySpec.content) {
      const media = bodySpec.content["application/json"] || Object.values(bodySpec.content)[0] || {};
      const example = media.example !== undefined ? media.example : exampleOf(spec, media.schema || {}, 0);
      textarea = el("textarea", { name: "body", spellcheck: "false" });
      textarea.value = JSON.stringify(example, null, 2);
      inputs.push(el("label", {}, ["body (application/json)", textarea]));
    }
    const result = el("pre", { class: "result", hidden: "" });
    const send = el("button", { type: "button" }, "Send");
    send.addEventListener("click", function () {
      let url = base + path;
      const query = new URLSearchParams();
      const headers = {};
      for (const input of details.querySelectorAll("input[data-in]")) {
        const where = input.getAttribute("data-in");
        if (where === "path") url = url.replace("{" + input.name + "}", encodeURIComponent(input.value));
        else if (input.value === "") continue;
        else if (where === "query") query.append(input.name, input.value);
        else if (where === "header") headers[input.name] = input.value;
      }
      const token = document.getElementById("token").value.trim();
      if (token) headers["Authorization"] = "Bearer " + token;
      const key = document.getElementById("key").value.trim();
      if (key) headers[document.getElementById("key-header").value.trim() || "X-API-Key"] = key;
      const init = { method: method.toUpperCase(), headers: headers };
      if (textarea) { headers["Content-Type"] = "application/json"; init.body = textarea.value; }
      const qs = query.toString();
      result.hidden = false;
      result.textContent = "…";
      fetch(url + (qs ? "?" + qs : ""), init).then(function (response) {
        return response.text().then(function (text) {
          let shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          result.textContent = response.status + " " + response.statusText + "\n\n" + shown;
        });
      }).catch(function (e) { result.textContent = "request failed: " + e; });
    });
    const statuses = Object.keys(op.responses || {}).join(" · ");
    const details = el("details", { class: "operation" + (op.deprecated ? " deprecated" : ""), id: op.operationId || (method + path) }, [
      el("summary", {}, [
        el("span", { class: "method " + method }, method),
        el("span", { class: "path" }, path),
        el("span", { class: "summary" }, op.summary || op.operationId || ""),
      ]),
      el("div", { class: "body" }, [
        op.description ? el("p", {}, op.description) : "",
        el("p", { class: "responses" }, "Responses: " + statuses),
      ].concat(inputs, [send, result])),
    ]);
    return details;
  }

  function render(spec) {
    main.textContent = "";
    const base = basePath(spec);
    const groups = new Map();
    for (const [path, rawItem] of Object.entries(spec.paths || {})) {
      const item = resolve(spec, rawItem) || {};
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "operations";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operationView(spec, base, path, method, op, item.parameters));
      }
    }
    for (const [tag, views] of groups) {
      main.append(el("h2", { class: "tag" }, tag));
      views.forEach(function (v) { main.append(v); });
    }
    if (!groups.size) main.append(el("p", {}, "This API has no operations."));
  }

  fetch(main.getAttribute("data-spec"), { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
    .then(render)
    .catch(function (e) { main.textContent = ""; main.append(el("p", { class: "error" }, "Could not load the API description: " + e.message)); });
})();
