// Launches the system Chromium headless through playwright-core, or the system Firefox ESR headless through
// puppeteer-core over WebDriver BiDi, each inside a network namespace of its own (a peer of a netns.mjs lab: its
// media crosses its own veth pair to the servers in the lab's hub, and nothing it sends can leave the lab). A
// missing /usr/bin/chromium or /usr/bin/firefox-esr, `ip`, `tc`, `iptables` or root is an error, never a skip.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { defaultLab, preflight, registerBrowser } from './netns.mjs';

export const CHROMIUM = process.env.VEIL_CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.VEIL_FIREFOX || '/usr/bin/firefox-esr';

/**
 * @param {{lab?: import('./netns.mjs').Lab, name?: string, args?: string[]}} [opts] `lab`: the lab to join (default:
 *   the process's shared lab, where startServer runs its servers); `name`: the peer's name (for lab.peer(name))
 * @returns {Promise<import('playwright-core').Browser>} with `.peer` (its namespace, addresses, veth names) and
 *   `.lab`; pass the browser to lab.setRate / setLoss / clear / counters
 */
export async function launchChromium(opts = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium); the browser tests cannot be skipped`);
  }
  const { ip } = preflight();
  const lab = opts.lab || await defaultLab();
  const peer = await lab.addPeer(opts.name || 'chromium');
  // playwright starts executablePath with its pipes on fds 3 and 4; `ip netns exec` keeps them and execs Chromium
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-chromium-'));
  const wrapper = path.join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${ip} netns exec ${peer.ns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--disable-background-networking',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      '--autoplay-policy=no-user-gesture-required',
      ...(opts.args || []),
    ],
  });
  browser.on('disconnected', () => rmSync(dir, { recursive: true, force: true }));
  registerBrowser(browser, peer);
  browser.peer = peer;
  browser.lab = lab;
  return browser;
}

/**
 * Firefox ESR headless in a peer namespace of its own, driven by puppeteer-core over WebDriver BiDi. Firefox's BiDi
 * server listens on 127.0.0.1 of the peer's namespace, so Firefox is started here (not by puppeteer.launch, which
 * would connect to this process's own 127.0.0.1) and the test process reaches it through lab.exposePeer. The
 * profile holds puppeteer's automation preferences plus a fake camera/microphone without a permission prompt and
 * autoplay allowed (an AudioContext of the page runs without a gesture).
 *
 * @param {{lab?: import('./netns.mjs').Lab, name?: string, prefs?: object, timeoutMs?: number}} [opts]
 * @returns {Promise<import('puppeteer-core').Browser>} with `.peer`, `.lab` and `.newContext()` (a fresh user
 *   context, as playwright's), so page code written for Chromium runs unchanged
 */
export async function launchFirefox(opts = {}) {
  if (!existsSync(FIREFOX)) {
    throw new Error(`Firefox not found at ${FIREFOX}: install it (apt-get install firefox-esr); the browser tests cannot be skipped`);
  }
  preflight();
  // loaded here, so the Chromium-only suites do not load puppeteer
  const { default: puppeteer } = await import('puppeteer-core');
  const { Browser: BrowserKind, createProfile } = await import('@puppeteer/browsers');
  const lab = opts.lab || await defaultLab();
  const peer = await lab.addPeer(opts.name || 'firefox');
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-firefox-'));
  const profile = path.join(dir, 'profile');
  await createProfile(BrowserKind.FIREFOX, {
    path: profile,
    preferences: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.autoplay.default': 0,
      'media.autoplay.block-webaudio': false,
      'media.autoplay.blocking_policy': 0,
      'fission.webContentIsolationStrategy': 0, // as puppeteer.launch sets it
      ...(opts.prefs || {}),
    },
  });
  const child = lab.spawnIn(peer, FIREFOX, ['--headless', '--no-remote', '--profile', profile,
    '--remote-debugging-port=0', 'about:blank'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: dir, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  let err = '';
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  child.stdout.resume();
  const timeoutMs = opts.timeoutMs || 60000;
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Firefox did not open its WebDriver BiDi port within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr.on('data', d => {
      err += d;
      if (err.length > 1 << 16) err = err.slice(-(1 << 15));
      const m = /WebDriver BiDi listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(code => { clearTimeout(timer); reject(new Error(`Firefox exited with ${code}:\n${err}`)); });
  }).catch(e => { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); throw e; });
  const hostPort = await lab.exposePeer(peer, port);
  const browser = await puppeteer.connect({
    browserWSEndpoint: `ws://127.0.0.1:${hostPort}/session`,
    protocol: 'webDriverBiDi',
    // Firefox accepts a Host header naming its own port only
    headers: { Host: `127.0.0.1:${port}` },
    protocolTimeout: 120000,
  });
  const close = browser.close.bind(browser);
  // closes over BiDi; a Firefox that has not exited 15 s later is killed
  browser.close = async () => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 15000);
    await close().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  browser.newContext = () => browser.createBrowserContext();
  browser.log = () => err;
  registerBrowser(browser, peer);
  browser.peer = peer;
  browser.lab = lab;
  return browser;
}

/**
 * Runs in the page: defines `window[fn](rgb, hz)`, a synthetic camera and microphone. The video is a `width`x`height`
 * canvas at `fps` filled with `rgb` and a white bar moving `step` pixels a frame (so frames differ); the audio is an
 * oscillator at `hz`.
 */
export function syntheticStreamSource({ fn = 'makeSyntheticStream', width = 320, height = 240, fps = 30, step = 7 } = {}) {
  const barW = Math.round(width * 0.075);
  const barH = Math.round(height / 6);
  return `
  window[${JSON.stringify(fn)}] = function (rgb, hz) {
    const canvas = document.createElement('canvas');
    canvas.width = ${width}; canvas.height = ${height};
    const g = canvas.getContext('2d');
    let n = 0;
    const draw = () => {
      g.fillStyle = 'rgb(' + rgb.join(',') + ')';
      g.fillRect(0, 0, ${width}, ${height});
      g.fillStyle = '#fff';
      g.fillRect((n * ${step}) % ${width}, ${height - barH}, ${barW}, ${barH});
      n++;
    };
    draw();
    window.__drawTimer = setInterval(draw, ${Math.floor(1000 / fps)});
    const video = canvas.captureStream(${fps}).getVideoTracks()[0];
    const ac = new AudioContext();
    const osc = ac.createOscillator();
    osc.frequency.value = hz;
    const dest = ac.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    return new MediaStream([dest.stream.getAudioTracks()[0], video]);
  };`;
}
