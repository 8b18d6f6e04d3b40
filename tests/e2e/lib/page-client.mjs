// Node-side wrappers over the page API (window.harness, see page/harness.js).
export class BrowserUA {
  constructor(page, id, lib) {
    this.page = page;
    this.id = id;
    this.lib = lib;
  }

  /** options: see harness.createUA (lib, wsUri, uri, password, ...). */
  static async create(page, options) {
    const id = await page.evaluate((o) => window.harness.createUA(o), options);
    return new BrowserUA(page, id, options.lib);
  }

  register(opts = {}) {
    return this.page.evaluate(([id, o]) => window.harness.register(id, o), [this.id, opts]);
  }

  unregister(opts = {}) {
    return this.page.evaluate(([id, o]) => window.harness.unregister(id, o), [this.id, opts]);
  }

  stop() {
    return this.page.evaluate((id) => window.harness.stopUA(id), this.id);
  }

  async call(target, opts = {}) {
    const sid = await this.page.evaluate(([id, t, o]) => window.harness.call(id, t, o), [this.id, target, opts]);
    return new BrowserSession(this.page, sid);
  }

  async waitIncoming(opts = {}) {
    const sid = await this.page.evaluate(([id, o]) => window.harness.waitIncoming(id, o), [this.id, opts]);
    return new BrowserSession(this.page, sid);
  }

  sendMessage(target, body, contentType = 'text/plain') {
    return this.page.evaluate(([id, t, b, c]) => window.harness.sendMessage(id, t, b, c), [this.id, target, body, contentType]);
  }
}

export class BrowserSession {
  constructor(page, id) {
    this.page = page;
    this.id = id;
  }

  answer(opts = {}) {
    return this.page.evaluate(([id, o]) => window.harness.answer(id, o), [this.id, opts]);
  }

  reject(statusCode) {
    return this.page.evaluate(([id, c]) => window.harness.reject(id, c), [this.id, statusCode]);
  }

  hangup() {
    return this.page.evaluate((id) => window.harness.hangup(id), this.id);
  }

  /** state: 'progress' | 'established' | 'ended'. */
  waitState(state, opts = {}) {
    return this.page.evaluate(([id, s, o]) => window.harness.waitSession(id, s, o), [this.id, state, opts]);
  }

  info() {
    return this.page.evaluate((id) => window.harness.sessionInfo(id), this.id);
  }

  stats() {
    return this.page.evaluate((id) => window.harness.getStats(id), this.id);
  }

  inboundPackets() {
    return this.page.evaluate((id) => window.harness.getInboundPackets(id), this.id);
  }

  /**
   * What the page hears from the peer, through WebAudio: { sampleRate, samples }
   * (the last opts.samples samples after opts.settleMs; see harness.recordRemoteAudio).
   */
  remoteAudio(opts = {}) {
    return this.page.evaluate(([id, o]) => window.harness.recordRemoteAudio(id, o), [this.id, opts]);
  }
}
