// Launches the system Chromium headless through playwright-core. A missing /usr/bin/chromium is an error, never a skip.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.VEIL_CHROMIUM || '/usr/bin/chromium';

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium); the browser tests cannot be skipped`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
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
    ],
  });
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
