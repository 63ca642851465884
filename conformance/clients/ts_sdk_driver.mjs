// The official TypeScript SDK (@anthropic-ai/sdk) as a conformance client: a JSON spec in EGRESS_TS_SDK_SPEC, one JSON line
// per call on stdout. The SDK is configured as an agent runtime configures it: an OAuth token (sk-ant-oat…) goes in
// as authToken with the oauth beta, anything else as apiKey; a CONNECT proxy through undici's ProxyAgent; a DNS
// override (SNI gateways outside an agent sandbox) through a connector that dials elsewhere but keeps the name.
import { createRequire } from "node:module";
import tls from "node:tls";

const spec = JSON.parse(process.env.EGRESS_TS_SDK_SPEC);
const require = createRequire(spec.modules + "/");
const sdkModule = require("@anthropic-ai/sdk");
const Anthropic = sdkModule.Anthropic ?? sdkModule.default;
const undici = require("undici");

// The retry back-off shortened (the attempts made are what a check observes, not the wait between them).
class HarnessAnthropic extends Anthropic {
  calculateDefaultRetryTimeoutMillis() { return spec.retry_delay_ms; }
}

function dispatcher() {
  // The proxy the harness names, else the one the environment names (a sandbox such as srt sets HTTPS_PROXY, with
  // its own credential in it, for every process inside).
  const proxy = spec.proxy ?? process.env.HTTPS_PROXY ?? process.env.https_proxy;
  if (proxy) return new undici.ProxyAgent({ uri: proxy });
  if (spec.connect_to) {
    const [host, port] = spec.connect_to;
    return new undici.Agent({
      connect: (opts, callback) => {
        const socket = tls.connect({ host, port, servername: opts.servername || opts.hostname, ALPNProtocols: ["http/1.1"] });
        socket.once("secureConnect", () => callback(null, socket));
        socket.once("error", (err) => callback(err, null));
      },
    });
  }
  return undefined;
}

function client() {
  const options = { baseURL: spec.base_url, maxRetries: spec.max_retries, timeout: spec.timeout_ms,
                    defaultHeaders: { ...spec.default_headers }, apiKey: null, authToken: null };
  if (spec.credential && spec.credential.startsWith("sk-ant-oat")) {
    options.authToken = spec.credential;  // as a runtime that recognises the prefix: bearer plus the oauth beta
    const beta = options.defaultHeaders["anthropic-beta"];
    options.defaultHeaders["anthropic-beta"] = beta ? `${beta},oauth-2025-04-20` : "oauth-2025-04-20";
  } else {
    options.apiKey = spec.credential;
  }
  const agent = dispatcher();
  // undici's own fetch with its dispatcher: Node's built-in fetch bundles another undici release.
  if (agent) Object.assign(options, { fetch: undici.fetch, fetchOptions: { dispatcher: agent } });
  return new HarnessAnthropic(options);
}

function failure(err) {
  return { ok: false, error: { class: err?.constructor?.name ?? typeof err, status: err?.status ?? null,
                               request_id: err?.requestID ?? err?.request_id ?? null,
                               type: err?.error?.error?.type ?? err?.error?.type ?? null,
                               message: String(err?.message ?? err).slice(0, 300) } };
}

async function call(sdk, item) {
  const params = item.params;
  if (item.op === "create") {
    const { data, request_id } = await sdk.messages.create(params).withResponse();
    return { ok: true, message: data, request_id };
  }
  if (item.op === "round-trip") {
    // The agent loop's one turn: the tool call, a tool_result for each tool_use, the answer after it.
    const first = await sdk.messages.create(params);
    const results = first.content.filter((b) => b.type === "tool_use")
      .map((b) => ({ type: "tool_result", tool_use_id: b.id, content: "42" }));
    const message = await sdk.messages.create({ ...params, messages: [...params.messages,
      { role: "assistant", content: first.content },
      { role: "user", content: [...results, { type: "text", text: item.followup }] }] });
    return { ok: true, first, message };
  }
  // "stream": messages.stream(…) with its events counted; an `error` event becomes the stream's error.
  const stream = sdk.messages.stream(params);
  const events = [];
  let streamError = null;
  stream.on("streamEvent", (event) => events.push(event.type));
  stream.on("error", (err) => { streamError = err; });
  try {
    const message = await stream.finalMessage();
    return { ok: true, message, events, request_id: stream.request_id ?? null };
  } catch (err) {
    return { ...failure(streamError ?? err), events };
  }
}

const sdk = client();
for (const item of spec.calls) {
  let result;
  try {
    result = await call(sdk, item);
  } catch (err) {
    result = failure(err);
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
process.exit(0);
