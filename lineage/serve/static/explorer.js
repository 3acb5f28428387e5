// The tagtrail explorer: the estate graph (cytoscape.js, dagre layout), filters, column lineage
// with privacy tags at each hop, a dataset panel and the audit timeline. Every value from the
// server is written as text, never as HTML.
"use strict";

const api = (path, params) => {
  const url = new URL(path, window.location.origin);
  Object.entries(params || {}).forEach(([k, v]) => { if (v) url.searchParams.set(k, v); });
  return fetch(url, { headers: { Accept: "application/json" } }).then(async (response) => {
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  });
};

const el = (tag, text, cls) => {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
};

const tagChip = (tag) => {
  const cls = tag.includes(".special.") || tag.startsWith("person.criminal") ? "tag special"
    : tag.includes("pseudonymous") ? "tag pseudonymous" : "tag";
  const chip = el("span", tag, cls);
  chip.dataset.tag = tag;
  return chip;
};

const row = (cells) => {
  const tr = document.createElement("tr");
  cells.forEach((cell) => {
    const td = document.createElement("td");
    if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell ?? "";
    tr.appendChild(td);
  });
  return tr;
};

const chips = (tags) => {
  const span = el("span");
  (tags.length ? tags : ["untagged"]).forEach((t) => span.appendChild(tagChip(t)));
  return span;
};

const status = (id, text) => { document.getElementById(id).textContent = text; };

let cy = null;

function drawGraph(data) {
  const departments = [...new Set(data.datasets.map((d) => d.department || "(none)"))].sort();
  const elements = departments.map((d) => ({ data: { id: `dept:${d}`, label: d }, classes: "department" }));
  data.datasets.forEach((d) => elements.push({
    data: {
      id: d.id, label: d.name, parent: `dept:${d.department || "(none)"}`,
      tags: d.columnTags.join(" "),
    },
    classes: d.columnTags.some((t) => t.includes(".special.")) ? "dataset special" : "dataset",
  }));
  data.edges.forEach((e, i) => elements.push({
    data: {
      id: `edge${i}`, source: e.from_dataset, target: e.to_dataset,
      label: e.agreement_id ? `${e.agreement_id} · ${e.purpose || ""}` : "",
      agreement: e.agreement_id || "",
    },
  }));
  if (cy) cy.destroy();
  cy = cytoscape({
    container: document.getElementById("graph"),
    elements,
    style: [
      { selector: "node.department", style: {
        label: "data(label)", "text-valign": "top", "font-weight": "bold",
        "background-color": "#f6f6f6", "border-color": "#999", "border-width": 1 } },
      { selector: "node.dataset", style: {
        label: "data(label)", "font-size": 10, "background-color": "#6b8cc7", width: 18, height: 18 } },
      { selector: "node.special", style: { "background-color": "#c75b5b" } },
      { selector: "node.traced", style: { "border-width": 4, "border-color": "#f0a000" } },
      { selector: "edge", style: {
        "curve-style": "bezier", "target-arrow-shape": "triangle", width: 1.5,
        label: "data(label)", "font-size": 8, "text-rotation": "autorotate", color: "#444" } },
      { selector: "edge.traced", style: { "line-color": "#f0a000", "target-arrow-color": "#f0a000", width: 3 } },
    ],
    layout: { name: "dagre", rankDir: "LR", nodeSep: 25, rankSep: 90 },
  });
  cy.on("tap", "node.dataset", (event) => showDataset(event.target.data("label")));
  status("graph-status", `${data.datasets.length} datasets, ${data.edges.length} edges`);
  document.getElementById("graph").dataset.datasets = data.datasets.map((d) => d.name).join(",");
}

function fillSelect(select, values, keep) {
  const current = select.value;
  while (select.options.length > (keep ? 1 : 0)) select.remove(select.options.length - 1);
  values.forEach((v) => select.appendChild(new Option(v, v)));
  if (values.includes(current)) select.value = current;
}

async function loadGraph() {
  const params = {
    tag: document.getElementById("tag-filter").value,
    department: document.getElementById("department-filter").value,
    agreement: document.getElementById("agreement-filter").value,
  };
  try {
    drawGraph(await api("/api/v1/graph", params));
  } catch (error) {
    status("graph-status", error.message);
  }
}

async function init() {
  const all = await api("/api/v1/graph");
  const tags = [...new Set(all.datasets.flatMap((d) => d.columnTags))].sort();
  const departments = [...new Set(all.datasets.map((d) => d.department).filter(Boolean))].sort();
  const agreements = [...new Set(all.edges.map((e) => e.agreement_id).filter(Boolean))].sort();
  fillSelect(document.getElementById("tag-filter"), tags, true);
  fillSelect(document.getElementById("department-filter"), departments, true);
  fillSelect(document.getElementById("agreement-filter"), agreements, true);
  const names = [...new Set(all.datasets.map((d) => d.name))].sort();
  fillSelect(document.getElementById("trace-dataset"), names, false);
  drawGraph(all);
  await loadColumns();
  const kinds = await api("/api/v1/audit-kinds");
  fillSelect(document.getElementById("audit-kind"), kinds.kinds, true);
  await runAudit();
  document.body.dataset.ready = "true";
}

async function loadColumns() {
  const dataset = document.getElementById("trace-dataset").value;
  if (!dataset) return;
  const data = await api(`/api/v1/datasets/${encodeURIComponent(dataset)}`);
  fillSelect(document.getElementById("trace-column"), data.columns.map((c) => c.name), false);
}

async function runTrace(event) {
  event.preventDefault();
  const params = {
    dataset: document.getElementById("trace-dataset").value,
    column: document.getElementById("trace-column").value,
    direction: document.getElementById("trace-direction").value,
  };
  const body = document.querySelector("#hops tbody");
  body.replaceChildren();
  try {
    const data = await api("/api/v1/trace", params);
    data.hops.forEach((hop) => {
      const from = `${hop.from.dataset}${hop.from.column ? "." + hop.from.column : ""}`;
      const to = `${hop.to.dataset}${hop.to.column ? "." + hop.to.column : " (whole dataset)"}`;
      const change = el("span");
      change.appendChild(chips(hop.tagsBefore));
      change.appendChild(el("span", " → "));
      change.appendChild(chips(hop.tagsAfter));
      const terms = el("div");
      [`${hop.agreement || "no agreement"} · ${hop.purpose || "no purpose"}`,
        `legal basis: ${hop.legalBasis || "none declared"}`, hop.tagChange].forEach((line) => {
        terms.appendChild(el("div", line));
      });
      const tr = row([String(hop.depth), `${from} → ${to}`, change, terms]);
      tr.dataset.to = to;
      tr.dataset.tagsBefore = hop.tagsBefore.join(" ");
      tr.dataset.tagsAfter = hop.tagsAfter.join(" ");
      tr.dataset.agreement = hop.agreement || "";
      body.appendChild(tr);
    });
    status("trace-status", `${data.hops.length} hop(s) ${params.direction} of ${params.dataset}.${params.column}`);
    highlight(params.dataset, data.hops);
  } catch (error) {
    status("trace-status", error.message);
  }
}

function highlight(start, hops) {
  if (!cy) return;
  cy.elements().removeClass("traced");
  const names = new Set([start, ...hops.flatMap((h) => [h.from.dataset, h.to.dataset])]);
  cy.nodes("node.dataset").forEach((n) => { if (names.has(n.data("label"))) n.addClass("traced"); });
  cy.edges().forEach((e) => {
    if (names.has(e.source().data("label")) && names.has(e.target().data("label"))) e.addClass("traced");
  });
}

async function showDataset(name) {
  const data = await api(`/api/v1/datasets/${encodeURIComponent(name)}`);
  const pane = document.getElementById("dataset-pane");
  pane.hidden = false;
  document.getElementById("dataset-title").textContent = `${data.dataset.namespace}/${data.dataset.name}`;
  const facts = document.getElementById("dataset-facts");
  facts.replaceChildren();
  const d = data.dataset;
  [["department", d.department], ["description", d.description], ["agreement", d.agreement && d.agreement.id],
    ["purpose", d.purpose], ["legal basis", d.legal_basis], ["retention", d.retention],
    ["identifiability", d.identifiability], ["rows", d.row_count]].forEach(([k, v]) => {
    if (v === null || v === undefined) return;
    facts.appendChild(el("dt", k));
    facts.appendChild(el("dd", v));
  });
  const columns = document.querySelector("#dataset-columns tbody");
  columns.replaceChildren(...data.columns.map((c) => row([
    c.name, chips(c.tags.map((t) => t.tag)),
    c.tags.flatMap((t) => t.attributions.map((a) => `${a.origin_dataset}.${a.origin_column}: ${a.rules.join(" → ")}`)).join("; "),
  ])));
  const checks = document.querySelector("#dataset-checks tbody");
  checks.replaceChildren(
    ...data.controls.map((c) => row([
      `control: ${c.control}`, c.summary,
      c.evaluated === false ? "not evaluated" : c.passed ? "passed" : `failed (${c.severity || "error"})`,
    ])),
    ...d.assertions.map((a) => row([
      a.assertion, a.column, a.success === null ? "not evaluated" : a.success ? "passed" : `failed (${a.severity || "error"})`,
    ])),
  );
  const runs = document.querySelector("#dataset-runs tbody");
  runs.replaceChildren(...data.runs.slice().reverse().map((r) => row([r.run_id, r.state, r.ended_at])));
  document.getElementById("audit-dataset").value = name;
  await runAudit();
}

async function runAudit(event) {
  if (event) event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const params = {
    dataset: value("audit-dataset"), department: value("audit-department"),
    agreement: value("audit-agreement"), kind: value("audit-kind"),
    since: value("audit-since"), until: value("audit-until"),
  };
  const body = document.querySelector("#audit tbody");
  body.replaceChildren();
  try {
    const data = await api("/api/v1/audit", params);
    data.records.slice().reverse().forEach((r) => body.appendChild(row([
      r.at, r.kind, r.dataset, r.agreement, JSON.stringify(r.details),
    ])));
    status("audit-status", `${data.records.length} record(s)`);
  } catch (error) {
    status("audit-status", error.message);
  }
}

document.getElementById("filters").addEventListener("change", loadGraph);
document.getElementById("clear-filters").addEventListener("click", () => {
  ["tag-filter", "department-filter", "agreement-filter"].forEach((id) => { document.getElementById(id).value = ""; });
  loadGraph();
});
document.getElementById("trace-dataset").addEventListener("change", loadColumns);
document.getElementById("trace-form").addEventListener("submit", runTrace);
document.getElementById("audit-form").addEventListener("submit", runAudit);
init().catch((error) => status("graph-status", error.message));
