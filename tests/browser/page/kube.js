// A web page's client for kube-auth-proxy on another origin (`--cors-allowed-origins`):
// fetch for REST, a WebSocket for watches. With `--authn`, pass the page's bearer token.

async function kubeFetch(proxy, path, { method = "GET", body, contentType = "application/json", token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = contentType;
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(proxy + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), date: response.headers.get("Date") };
}

// Browsers cannot set headers on a WebSocket: the token rides as a subprotocol,
// base64url without padding, beside the subprotocol the proxy answers with.
function bearerSubprotocol(token) {
  const encoded = btoa(token).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `base64url.bearer.authorization.k8s.io.${encoded}`;
}

// Resolves with the open WebSocket; every watch event goes to onEvent. Rejects with an
// Error named WatchRefused when the proxy refuses the handshake.
function kubeWatch(proxy, path, { resourceVersion, token, onEvent = () => {} } = {}) {
  let url = `${proxy.replace(/^http/, "ws")}${path}?watch=true`;
  if (resourceVersion) url += `&resourceVersion=${encodeURIComponent(resourceVersion)}`;
  const protocols = ["base64.binary.k8s.io"];
  if (token) protocols.push(bearerSubprotocol(token));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    let opened = false;
    ws.onopen = () => { opened = true; resolve(ws); };
    ws.onmessage = (message) => onEvent(JSON.parse(message.data));
    ws.onclose = (close) => {
      if (opened) return;
      const refused = new Error(`the WebSocket closed before it opened (code ${close.code})`);
      refused.name = "WatchRefused";
      reject(refused);
    };
  });
}

// What a call came to: "status NNN", or the name of the error it threw (TypeError when the
// browser hid the answer).
async function outcome(promise) {
  try {
    const result = await promise;
    if (result instanceof WebSocket) { result.close(); return "open"; }
    return `status ${result.status}`;
  } catch (error) {
    return error.name;
  }
}

function until(predicate, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error("timed out waiting"));
      else setTimeout(check, 20);
    };
    check();
  });
}
