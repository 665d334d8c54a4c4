// Audio-thread half of the softphone (AudioWorklet): microphone capture and bot playout.
//
// The wire format is chan_websocket "slin16": 16 kHz mono signed 16-bit little-endian,
// one 640-byte frame per 20 ms (asterisk.md section 1). Chromium can run the whole
// AudioContext at 16 kHz, and then it does the resampling itself; where a browser cannot,
// the context runs at its native rate and these processors convert with a band-limited
// (windowed-sinc) resampler, so the decimation never aliases.

const WIRE_RATE_HZ = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const REPORT_EVERY_S = 0.05;

/** Streaming windowed-sinc resampler (Blackman window, `zeros` zero crossings a side). */
class Resampler {
  constructor(inRateHz, outRateHz, zeros = 8) {
    this.step = inRateHz / outRateHz; // input samples per output sample
    // Cut below the lower Nyquist (90 % of it): the low-pass before decimation.
    const cutoffHz = 0.45 * Math.min(inRateHz, outRateHz);
    this.fc = (2 * cutoffHz) / inRateHz; // normalised to the input rate (1 = Nyquist * 2)
    this.half = Math.ceil(zeros / this.fc); // kernel half-width, in input samples
    this.buf = new Float32Array(0);
    this.pos = 0; // position of the next output sample, in `buf` coordinates
  }

  kernel(d) {
    if (Math.abs(d) >= this.half) return 0;
    const x = this.fc * d;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / this.half) +
      0.08 * Math.cos((2 * Math.PI * d) / this.half);
    return this.fc * sinc * w;
  }

  /** Feed input samples; returns the output samples they complete. */
  process(input) {
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    const out = [];
    while (this.pos + this.half < joined.length) {
      const centre = Math.floor(this.pos);
      let acc = 0;
      for (let k = centre - this.half + 1; k <= centre + this.half; k++) {
        if (k >= 0) acc += joined[k] * this.kernel(this.pos - k);
      }
      out.push(acc);
      this.pos += this.step;
    }
    // Keep the history the next outputs still need.
    const keepFrom = Math.max(0, Math.floor(this.pos) - this.half);
    this.buf = joined.slice(keepFrom);
    this.pos -= keepFrom;
    return Float32Array.from(out);
  }
}

/** Microphone -> 640-byte slin16 frames posted to the page, with the frame's RMS level. */
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.resampler = sampleRate === WIRE_RATE_HZ ? null : new Resampler(sampleRate, WIRE_RATE_HZ);
    this.frame = new Float32Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    let mono = channels[0];
    if (channels.length > 1) {
      mono = new Float32Array(mono.length);
      for (const ch of channels) for (let i = 0; i < ch.length; i++) mono[i] += ch[i] / channels.length;
    }
    const samples = this.resampler ? this.resampler.process(mono) : mono;
    for (let i = 0; i < samples.length; i++) {
      this.frame[this.filled++] = samples[i];
      if (this.filled === FRAME_SAMPLES) this.emit();
    }
    return true;
  }

  emit() {
    const bytes = new ArrayBuffer(FRAME_SAMPLES * 2);
    const view = new DataView(bytes);
    let energy = 0;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const s = Math.max(-1, Math.min(1, this.frame[i]));
      energy += s * s;
      view.setInt16(i * 2, Math.round(s * 32767), true); // little-endian, as slin is
    }
    this.filled = 0;
    this.port.postMessage({ frame: bytes, rms: Math.sqrt(energy / FRAME_SAMPLES) }, [bytes]);
  }
}

/**
 * Bot audio playout: a queue of 16 kHz sample blocks and markers (marks, buffering
 * completions) played in order, as Asterisk's frame queue is. A marker is reported when
 * playout reaches it; "flush" drops everything queued, markers included (FLUSH_MEDIA).
 * Playout starts once `prebufferMs` is queued or a marker closes the utterance, which
 * absorbs network jitter without delaying short prompts.
 */
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.prebuffer = Math.round(((opts.prebufferMs || 60) * WIRE_RATE_HZ) / 1000);
    this.resampler = sampleRate === WIRE_RATE_HZ ? null : new Resampler(WIRE_RATE_HZ, sampleRate);
    this.queue = []; // {samples, offset} | {marker}
    this.queued = 0; // 16 kHz samples waiting
    this.started = false;
    this.paused = false;
    this.reportDrained = false;
    this.played = 0; // 16 kHz samples played, ever
    this.consumed = 0; // ... played or flushed, ever
    this.out = new Float32Array(0); // resampled output waiting (non-16 kHz contexts)
    this.outPos = 0;
    this.sinceReport = 0;
    this.speaking = false;
    this.port.onmessage = (e) => this.command(e.data);
  }

  command(msg) {
    if (msg.type === "audio") {
      this.queue.push({ samples: msg.samples, offset: 0 });
      this.queued += msg.samples.length;
    } else if (msg.type === "marker") {
      this.queue.push({ marker: msg.marker });
    } else if (msg.type === "flush") {
      this.consumed += this.queued;
      this.queue = [];
      this.queued = 0;
      this.started = false;
      this.out = new Float32Array(0);
      this.outPos = 0;
      this.report(true);
    } else if (msg.type === "pause") {
      this.paused = msg.paused;
    } else if (msg.type === "report-drained") {
      this.reportDrained = true;
    }
  }

  /** Next 16 kHz sample, or null when nothing is playable; posts markers passed on the way. */
  next() {
    while (this.queue.length > 0 && this.queue[0].marker !== undefined) {
      const marker = this.queue.shift().marker;
      this.port.postMessage({ type: "marker", marker, played: this.played, consumed: this.consumed });
    }
    if (this.queue.length === 0) {
      if (this.started || this.reportDrained) this.drained();
      return null;
    }
    if (!this.started) {
      const closed = this.queue.some((item) => item.marker !== undefined);
      if (this.queued < this.prebuffer && !closed) return null;
      this.started = true;
    }
    const head = this.queue[0];
    const sample = head.samples[head.offset++];
    if (head.offset === head.samples.length) this.queue.shift();
    this.queued--;
    this.played++;
    this.consumed++;
    return sample;
  }

  drained() {
    this.started = false;
    if (this.reportDrained) {
      this.reportDrained = false;
      this.port.postMessage({ type: "drained" });
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let audible = false;
    for (let i = 0; i < out.length; i++) {
      const s = this.paused ? null : this.nextOutput();
      out[i] = s === null ? 0 : s;
      audible = audible || s !== null;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.speaking = audible;
    this.sinceReport += out.length / sampleRate;
    if (this.sinceReport >= REPORT_EVERY_S) this.report(false);
    return true;
  }

  nextOutput() {
    if (!this.resampler) return this.next();
    while (this.outPos >= this.out.length) {
      const block = [];
      while (block.length < 32) {
        const s = this.next();
        if (s === null) break;
        block.push(s);
      }
      if (block.length === 0) return null;
      this.out = this.resampler.process(Float32Array.from(block));
      this.outPos = 0;
    }
    return this.out[this.outPos++];
  }

  report(flushed) {
    this.sinceReport = 0;
    this.port.postMessage({
      type: "state", queued: this.queued, played: this.played, consumed: this.consumed,
      speaking: this.speaking && !flushed, flushed,
    });
  }
}

registerProcessor("callbot-capture", CaptureProcessor);
registerProcessor("callbot-playback", PlaybackProcessor);
