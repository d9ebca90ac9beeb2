// The chat page `llm serve` sends at `/`: one HTML file with its script inline — no build step and no CDN
// (the course's machines have no internet). It lists the models, streams replies token by token from
// /v1/chat/completions, and stops a reply with the Stop button (the fetch is aborted: the server sees the
// client go and frees its slot). `/?message=TEXT` sends one message as the page loads (scripts, tests).

enum ChatPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>llm serve — chat</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; }
  header { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; }
  #log { border: 1px solid #ccc; border-radius: 6px; min-height: 18rem; padding: .6rem; margin: .8rem 0;
         white-space: pre-wrap; overflow-y: auto; max-height: 60vh; }
  .user { color: #0b4f9c; } .assistant { color: #222; } .error { color: #b00020; }
  .role { font-weight: 600; margin-right: .3rem; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; }
  #system { height: 2.6rem; } #input { height: 4.2rem; }
  button { font: inherit; padding: .3rem .9rem; }
</style>
</head>
<body>
<header>
  <strong>llm serve</strong>
  <label>model <select id="model"></select></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"
         style="width:4.5rem"></label>
  <label>max tokens <input id="maxTokens" type="number" min="1" value="64" style="width:4.5rem"></label>
  <label>API key <input id="key" type="password" placeholder="(if the server asks)" style="width:9rem"></label>
</header>
<textarea id="system" placeholder="System prompt (optional)"></textarea>
<div id="log" aria-live="polite"></div>
<textarea id="input" placeholder="Your message; Enter sends, Shift+Enter is a new line"></textarea>
<p><button id="send">Send</button> <button id="stop" disabled>Stop</button> <button id="clear">Clear</button>
   <span id="status"></span></p>
<script>
const $ = id => document.getElementById(id);
let history = [], controller = null;
function headers() {
  const h = { "Content-Type": "application/json" };
  if ($("key").value) h["Authorization"] = "Bearer " + $("key").value;
  return h;
}
function line(role, text) {
  const div = document.createElement("div"); div.className = role;
  const who = document.createElement("span"); who.className = "role"; who.textContent = role + ":";
  const body = document.createElement("span"); body.className = "text"; body.textContent = text;
  div.append(who, body); $("log").append(div); $("log").scrollTop = $("log").scrollHeight;
  return body;
}
async function loadModels() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText);
    $("model").innerHTML = "";
    for (const m of j.data) { const o = document.createElement("option"); o.textContent = m.id; $("model").append(o); }
  } catch (e) { $("status").textContent = "models: " + e.message; }
}
async function send() {
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  history.push({ role: "user", content: text });
  line("user", text);
  const out = line("assistant", "");
  const messages = ($("system").value.trim() ? [{ role: "system", content: $("system").value.trim() }] : [])
    .concat(history);
  controller = new AbortController();
  $("send").disabled = true; $("stop").disabled = false; $("status").textContent = "…";
  let reply = "";
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ model: $("model").value, messages, stream: true,
                             temperature: Number($("temperature").value),
                             max_tokens: Number($("maxTokens").value) }) });
    if (!r.ok) { const j = await r.json(); throw new Error(j.error ? j.error.message : r.statusText); }
    const reader = r.body.getReader(), utf8 = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += utf8.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        const choice = chunk.choices && chunk.choices[0];
        if (choice && choice.delta && choice.delta.content) {
          reply += choice.delta.content; out.textContent = reply;
          document.title = "llm serve — streaming (" + reply.length + " characters)";
        }
        if (choice && choice.finish_reason) $("status").textContent = "finished: " + choice.finish_reason;
      }
    }
  } catch (e) {
    if (e.name === "AbortError") $("status").textContent = "stopped";
    else { out.parentElement.className = "error"; out.textContent = e.message; $("status").textContent = "error"; }
  }
  if (reply) history.push({ role: "assistant", content: reply });
  document.title = "llm serve — done (" + reply.length + " characters)";   // what the browser test waits for
  controller = null; $("send").disabled = false; $("stop").disabled = true;
}
$("send").onclick = send;
$("stop").onclick = () => controller && controller.abort();
$("clear").onclick = () => { history = []; $("log").innerHTML = ""; $("status").textContent = ""; };
$("input").addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); } });
$("key").addEventListener("change", loadModels);
// ?message=TEXT (and &model=NAME) sends one message on load: for scripts, and the headless-browser test.
const query = new URLSearchParams(location.search);
loadModels().then(() => {
  if (query.get("model")) $("model").value = query.get("model");
  if (query.get("message")) { $("input").value = query.get("message"); send(); }
});
</script>
</body>
</html>
"""#
}
