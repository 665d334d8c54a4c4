// Browser softphone: talk to the bot with no Asterisk.
//
// The page plays Asterisk's part of chan_websocket on /media, as callbot's simulated peer
// does (callbot/protocols/chan_websocket.py, AsteriskChannel and encode_event): it sends
// MEDIA_START in the JSON control format (an Asterisk dialled with f(json)), streams the
// microphone as 640-byte slin16 frames, re-frames and plays the bot's audio through a
// queue with Asterisk's rules (1000 frames, MEDIA_XOFF at 900, MEDIA_XON below 800, partial
// frames dropped outside START/STOP_MEDIA_BUFFERING), and answers the bot's commands.
// Audio-thread code lives in softphone-worklet.js. No framework, no CDN: it runs offline.

const FORMAT = "slin16";
const WIRE_RATE_HZ = 16000;
const FRAME_BYTES = 640;
const FRAME_SAMPLES = FRAME_BYTES / 2;
const PTIME_MS = 20;
const QUEUE_MAX_FRAMES = 1000;
const XOFF_FRAMES = 900;
const XON_FRAMES = 800;
const MAX_COMMAND_BYTES = 128; // chan_websocket ignores longer control text
const DIGITS = "0123456789*#";
const AUDIO_COMMANDS = new Set([
  "START_MEDIA_BUFFERING", "STOP_MEDIA_BUFFERING", "MARK_MEDIA", "PAUSE_MEDIA", "CONTINUE_MEDIA",
]);

const $ = (id) => document.getElementById(id);
let callCounter = 0;

function randomHex(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What the user sees; every live value also sits in a stable id / data attribute. */
class View {
  constructor() {
    this.root = $("softphone");
    this.callButton = $("call");
    this.hangupButton = $("hangup");
    this.keys = Array.from(document.querySelectorAll("[data-digit]"));
  }

  setState(state, label) {
    this.root.dataset.state = state;
    $("call-state").innerHTML = label;
    const inCall = state === "connecting" || state === "in-call";
    this.callButton.disabled = inCall;
    this.hangupButton.disabled = !inCall;
    for (const key of this.keys) key.disabled = state !== "in-call";
  }

  setEnd(reason, label) {
    const el = $("end-reason");
    el.dataset.reason = reason;
    el.textContent = label;
  }

  show(stats) {
    for (const [id, value] of Object.entries(stats)) $(id).textContent = String(value);
  }

  /** Level 0..1 (speech at -20 dBFS reads 0.4); `data-peak` keeps the call's highest. */
  micLevel(rms, reset = false) {
    const level = Math.min(1, rms * 4);
    const meter = $("mic-level");
    const peak = reset ? 0 : Math.max(level, Number(meter.dataset.peak || 0));
    meter.value = level;
    meter.dataset.level = level.toFixed(3);
    meter.dataset.peak = peak.toFixed(3);
  }

  botSpeaking(speaking) {
    const el = $("bot-speaking");
    if (el.dataset.speaking === String(speaking)) return;
    el.dataset.speaking = String(speaking);
    el.innerHTML = speaking
      ? 'Le robot parle <span lang="en">· Bot speaking</span>'
      : 'Robot silencieux <span lang="en">· Bot silent</span>';
  }

  log(text) {
    const list = $("log");
    const item = document.createElement("li");
    item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    list.prepend(item);
    while (list.children.length > 100) list.lastChild.remove();
  }
}

/** One call: the websocket, the audio graph, and Asterisk's side of the protocol. */
class Call {
  constructor(view, onEnd) {
    this.view = view;
    this.onEnd = onEnd;
    this.callId = `softphone-${randomHex(6)}`;
    this.connectionId = randomHex(16);
    this.channelId = `${Math.floor(Date.now() / 1000)}.${++callCounter}`;
    this.ended = false;
    this.started = false;
    this.bulk = false; // START_MEDIA_BUFFERING in force
    this.leftover = new Uint8Array(0);
    this.paused = false;
    this.direction = "both"; // SET_MEDIA_DIRECTION, from the app's point of view
    this.queueFull = false;
    this.postedSamples = 0; // bot samples handed to the player, ever
    this.consumedSamples = 0; // ... played or flushed, as last reported by the player
    this.flushedUpTo = 0;
    this.stats = { sent: 0, received: 0, played: 0, marks: 0, flushes: 0, dropped: 0, digits: "" };
  }

  async start(rateHz) {
    this.view.setState("connecting", 'Connexion… <span lang="en">· Connecting…</span>');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("micro indisponible : ouvrez la page en https ou sur http://localhost");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    if (this.ended) return this.release(); // hung up while the browser asked for the mic
    await this.openAudio(rateHz);
    if (this.ended) return this.release();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ call_id: this.callId, caller: "softphone" });
    // A bot listening beyond loopback asks for a token: open the page as /?token=...
    const token = new URLSearchParams(location.search).get("token");
    if (token) query.set("token", token);
    this.ws = new WebSocket(`${scheme}//${location.host}/media?${query}`, "media");
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => this.opened();
    this.ws.onmessage = (e) => this.received(e.data);
    this.ws.onclose = (e) => this.end("closed", `Connexion fermée (${e.code}) · Connection closed`);
    this.timer = setInterval(() => this.render(), 100);
    $("call-id").textContent = this.callId;
    this.view.micLevel(0, true);
  }

  /** A 16 kHz context where the browser allows it (Chromium does), else the native rate. */
  async openAudio(rateHz) {
    try {
      this.ctx = new AudioContext({ sampleRate: rateHz, latencyHint: "interactive" });
      this.source = this.ctx.createMediaStreamSource(this.stream);
    } catch (err) {
      // Firefox refuses a microphone in a context at another rate: resample in the worklet.
      if (this.ctx) this.ctx.close();
      this.ctx = new AudioContext({ latencyHint: "interactive" });
      this.source = this.ctx.createMediaStreamSource(this.stream);
    }
    await this.ctx.audioWorklet.addModule("/static/softphone-worklet.js");
    this.capture = new AudioWorkletNode(this.ctx, "callbot-capture", { numberOfOutputs: 1 });
    this.capture.port.onmessage = (e) => this.captured(e.data);
    this.source.connect(this.capture).connect(this.ctx.destination); // the capture outputs silence
    this.player = new AudioWorkletNode(this.ctx, "callbot-playback", {
      numberOfInputs: 0, outputChannelCount: [1], processorOptions: { prebufferMs: 60 },
    });
    this.player.port.onmessage = (e) => this.fromPlayer(e.data);
    this.player.connect(this.ctx.destination);
    await this.ctx.resume();
    $("audio-rate").textContent = `${FORMAT} · ${this.ctx.sampleRate} Hz`;
    $("audio-rate").dataset.contextRateHz = String(this.ctx.sampleRate);
  }

  // --- events to the bot (encode_event's JSON: same keys, same order) ----------------------

  sendEvent(name, fields = {}) {
    this.sendText(JSON.stringify({ event: name, channel_id: this.channelId, ...fields }));
  }

  sendText(text) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  opened() {
    this.sendText(JSON.stringify({
      event: "MEDIA_START",
      connection_id: this.connectionId,
      channel: `WebSocket/${this.connectionId}/0x${randomHex(6)}`,
      channel_id: this.channelId,
      format: FORMAT,
      optimal_frame_size: FRAME_BYTES,
      ptime: PTIME_MS,
      channel_variables: {
        MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: String(FRAME_BYTES),
        MEDIA_WEBSOCKET_CONNECTION_ID: this.connectionId,
      },
    }));
    this.started = true;
    this.view.setState("in-call", 'En communication <span lang="en">· In call</span>');
    this.view.log(`MEDIA_START → ${this.callId}`);
  }

  captured({ frame, rms }) {
    this.view.micLevel(rms);
    if (!this.started || this.ended || this.direction === "out") return;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(frame);
    this.stats.sent++;
  }

  dtmf(digit) {
    if (!this.started || this.ended || !DIGITS.includes(digit)) return;
    this.sendEvent("DTMF_END", { digit });
    this.stats.digits = (this.stats.digits + digit).slice(-12);
    this.view.log(`DTMF_END ${digit}`);
    this.render();
  }

  // --- bot audio: Asterisk's re-framing and queue limits ----------------------------------

  queuedSamples() {
    return this.postedSamples - Math.max(this.consumedSamples, this.flushedUpTo);
  }

  queueFrames() {
    return Math.ceil(this.queuedSamples() / FRAME_SAMPLES);
  }

  media(buffer) {
    if (this.direction === "in" || this.ended) return;
    if (this.queueFrames() >= QUEUE_MAX_FRAMES) {
      this.stats.dropped += Math.max(1, Math.floor(buffer.byteLength / FRAME_BYTES));
      return; // Asterisk drops a message arriving on a full queue, whole
    }
    let data = new Uint8Array(buffer);
    if (this.bulk && this.leftover.length > 0) {
      const joined = new Uint8Array(this.leftover.length + data.length);
      joined.set(this.leftover);
      joined.set(data, this.leftover.length);
      data = joined;
    }
    this.leftover = new Uint8Array(0);
    const whole = data.length - (data.length % FRAME_BYTES);
    if (whole < data.length) {
      if (this.bulk) this.leftover = data.slice(whole);
      else this.stats.dropped++; // a partial trailing frame is dropped outside buffering
    }
    this.enqueue(data.subarray(0, whole));
  }

  enqueue(bytes) {
    if (bytes.length < 2) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const samples = new Float32Array(bytes.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    this.postedSamples += samples.length;
    this.stats.received += Math.ceil(samples.length / FRAME_SAMPLES);
    this.player.port.postMessage({ type: "audio", samples }, [samples.buffer]); // detaches it
    if (!this.queueFull && this.queueFrames() >= XOFF_FRAMES) {
      this.queueFull = true;
      this.sendEvent("MEDIA_XOFF");
    }
  }

  fromPlayer(msg) {
    if (this.ended) return;
    if (msg.played !== undefined) {
      this.consumedSamples = msg.consumed;
      this.stats.played = Math.floor(msg.played / FRAME_SAMPLES);
    }
    if (msg.type === "marker") {
      const { kind, id } = msg.marker;
      this.sendEvent(kind, { correlation_id: id });
      if (kind === "MEDIA_MARK_PROCESSED") this.stats.marks++;
      this.view.log(`${kind} ${id}`);
    } else if (msg.type === "drained") {
      this.sendEvent("QUEUE_DRAINED");
    } else if (msg.type === "state") {
      if (msg.flushed) this.stats.flushes++; // counted once the player has dropped it all
      this.view.botSpeaking(msg.speaking);
      if (this.queueFull && this.queueFrames() < XON_FRAMES) {
        this.queueFull = false;
        this.sendEvent("MEDIA_XON");
      }
    }
  }

  // --- commands from the bot (parse_command / AsteriskChannel._apply) --------------------

  received(data) {
    if (data instanceof ArrayBuffer) {
      this.media(data);
      return;
    }
    if (new TextEncoder().encode(data).length > MAX_COMMAND_BYTES) return;
    const text = data.trim();
    if (!text) return;
    let command;
    if (text.startsWith("{")) {
      // The JSON format this call announced; plain text is accepted too, as the core writes both.
      try {
        command = JSON.parse(text);
      } catch (err) {
        this.sendEvent("ERROR", { error_text: "Unable to parse JSON command" });
        return;
      }
    } else {
      const space = text.indexOf(" ");
      command = space < 0
        ? { command: text }
        : { command: text.slice(0, space), correlation_id: text.slice(space + 1) };
    }
    this.view.log(`← ${text}`);
    this.apply(String(command.command || ""), command.correlation_id || "", command.direction);
  }

  apply(name, id, direction) {
    if (AUDIO_COMMANDS.has(name) && this.direction === "in") {
      this.sendEvent("ERROR", { error_text: `${name} not supported while media direction is 'in'` });
      return;
    }
    const marker = (kind) => this.player.port.postMessage({ type: "marker", marker: { kind, id } });
    switch (name) {
      case "HANGUP":
        this.end("bot-hangup", "Le robot a raccroché · The bot hung up");
        break;
      case "START_MEDIA_BUFFERING":
        this.bulk = true;
        break;
      case "STOP_MEDIA_BUFFERING":
        this.bulk = false;
        this.enqueue(this.leftover); // the partial frame is played as is
        this.leftover = new Uint8Array(0);
        marker("MEDIA_BUFFERING_COMPLETED");
        break;
      case "MARK_MEDIA":
        marker("MEDIA_MARK_PROCESSED");
        break;
      case "FLUSH_MEDIA":
        this.player.port.postMessage({ type: "flush" });
        this.flushedUpTo = this.postedSamples;
        this.bulk = false;
        this.leftover = new Uint8Array(0);
        this.view.botSpeaking(false);
        break;
      case "REPORT_QUEUE_DRAINED":
        this.player.port.postMessage({ type: "report-drained" });
        break;
      case "GET_STATUS":
        this.sendEvent("STATUS", {
          queue_length: this.queueFrames(), xon_level: XON_FRAMES, xoff_level: XOFF_FRAMES,
          queue_full: this.queueFull, bulk_media: this.bulk, media_paused: this.paused,
        });
        break;
      case "PAUSE_MEDIA":
      case "CONTINUE_MEDIA":
        this.paused = name === "PAUSE_MEDIA";
        this.player.port.postMessage({ type: "pause", paused: this.paused });
        break;
      case "SET_MEDIA_DIRECTION":
        this.setDirection(direction);
        break;
      default:
        break; // ANSWER (the page answers at once) and unknown commands: ignored, as Asterisk
    }
    this.render();
  }

  setDirection(direction) {
    const name = "SET_MEDIA_DIRECTION";
    if (direction === undefined) {
      this.sendEvent("ERROR", { error_text: `${name} requires a 'direction' parameter.\n` });
    } else if (!["both", "in", "out"].includes(direction)) {
      this.sendEvent("ERROR", { error_text: `'${direction}' is not a valid direction for ${name}.\n` });
    } else {
      this.direction = direction;
    }
  }

  // --- the end -----------------------------------------------------------------------------

  hangup() {
    this.end("user-hangup", "Vous avez raccroché · You hung up");
  }

  end(reason, label) {
    if (this.ended) return;
    this.ended = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    this.release();
    clearInterval(this.timer);
    this.view.botSpeaking(false);
    this.view.micLevel(0);
    this.render();
    this.view.setEnd(reason, label);
    this.view.setState("ended", 'Appel terminé <span lang="en">· Call ended</span>');
    this.view.log(`fin : ${label}`);
    this.onEnd();
  }

  /** Frees the microphone and the audio graph (idempotent). */
  release() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.ctx && this.ctx.state !== "closed") this.ctx.close();
  }

  render() {
    const s = this.stats;
    this.view.show({
      "frames-sent": s.sent,
      "frames-received": s.received,
      "frames-played": s.played,
      "queue-ms": this.queueFrames() * PTIME_MS,
      "marks-confirmed": s.marks,
      flushes: s.flushes,
      "dtmf-sent": s.digits || "—",
    });
    $("frames-received").dataset.dropped = String(s.dropped); // lost as Asterisk would lose them
  }
}

/** Wires the buttons and keys; one call at a time. */
function main() {
  const view = new View();
  const params = new URLSearchParams(location.search);
  // ?rate=48000 forces the audio context's rate (checks the in-worklet resampler).
  const rateHz = Number(params.get("rate")) || WIRE_RATE_HZ;
  let call = null;

  view.setState("idle", 'Prêt <span lang="en">· Ready</span>');
  view.callButton.addEventListener("click", async () => {
    if (call && !call.ended) return;
    view.setEnd("", "");
    call = new Call(view, () => view.callButton.focus());
    try {
      await call.start(rateHz);
    } catch (err) {
      call.end("error", `Erreur · Error : ${err.message}`);
      view.setState("error", 'Erreur <span lang="en">· Error</span>');
    }
  });
  view.hangupButton.addEventListener("click", () => call && call.hangup());
  for (const key of view.keys) {
    key.addEventListener("click", () => call && call.dtmf(key.dataset.digit));
  }
  document.addEventListener("keydown", (e) => {
    if (call && !e.repeat && !e.ctrlKey && !e.metaKey && !e.altKey && e.key.length === 1 && DIGITS.includes(e.key)) call.dtmf(e.key);
  });
  showServiceInfo();
}

/** What the service has loaded (/healthz: dialplan, voice, ...), in the footer. */
async function showServiceInfo() {
  try {
    const response = await fetch("/healthz");
    const info = await response.json();
    const parts = Object.entries(info)
      .filter(([, v]) => typeof v !== "object")
      .map(([k, v]) => `${k}: ${v}`);
    $("service-info").textContent = parts.join(" · ");
  } catch (err) {
    $("service-info").textContent = "service : injoignable · unreachable";
  }
}

main();
