// Launches the system Chromium headless through playwright-core, inside a network namespace of its own (a peer of
// a netns.mjs lab: its media crosses its own veth pair to the servers in the lab's hub, and nothing it sends can
// leave the lab). A missing /usr/bin/chromium, `ip`, `tc`, `iptables` or root is an error, never a skip.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { defaultLab, preflight, registerBrowser } from './netns.mjs';

export const CHROMIUM = process.env.VEIL_CHROMIUM || '/usr/bin/chromium';

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
