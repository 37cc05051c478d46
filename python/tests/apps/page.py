"""The same-origin page every test app serves at ``/``: it POSTs to ``/api/prompt`` with
``fetch`` and echoes a message through the ``/ws`` WebSocket, then puts what happened in
``window.result`` (read by the browser test)."""

PAGE = """<!doctype html>
<meta charset="utf-8"><title>local tool</title>
<pre id="out">running</pre>
<script>
window.result = (async () => {
  const result = {};
  const response = await fetch('/api/prompt', {
    method: 'POST', headers: {'content-type': 'application/json'}, body: '{"prompt": "same-origin"}'});
  result.post = response.status;
  result.postBody = await response.text();
  result.ws = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    const timer = setTimeout(() => resolve('timeout'), 10000);
    ws.onopen = () => ws.send('same-origin');
    ws.onmessage = (event) => { clearTimeout(timer); resolve(event.data); ws.close(); };
    ws.onerror = () => { clearTimeout(timer); resolve('error'); };
  });
  document.getElementById('out').textContent = JSON.stringify(result);
  return result;
})();
</script>
"""


def log(*parts: object) -> None:
    """One line of the app's log: what reached the app."""
    print("app:", *parts, flush=True)
