// Reading a receipt QR on the phone: BarcodeDetector where the browser has
// it, else the vendored jsQR in a worker. A photo is decoded at a few
// sizes; createImageBitmap applies the EXIF orientation, so what is
// decoded or uploaded is the picture the right way up.
let detector;
let worker;
let seq = 0;
const pending = new Map();

async function nativeDetector() {
  if (detector !== undefined) return detector;
  detector = null;
  try {
    if ('BarcodeDetector' in self) {
      const formats = await BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) detector = new BarcodeDetector({ formats: ['qr_code'] });
    }
  } catch { detector = null; }
  return detector;
}

function jsqr(img) {
  if (!worker) {
    worker = new Worker('qrworker.js');
    worker.onmessage = (e) => { const f = pending.get(e.data.id); pending.delete(e.data.id); if (f) f(e.data.text); };
  }
  const id = ++seq;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, width: img.width, height: img.height, data: img.data.buffer }, [img.data.buffer]);
  });
}

// decodeSource reads a QR from a drawable (ImageBitmap, video) of w×h.
async function decodeSource(src, w, h, sizes) {
  const d = await nativeDetector();
  if (d) {
    try {
      const found = await d.detect(src);
      if (found.length) return found[0].rawValue;
    } catch { /* fall back to jsQR */ }
  }
  for (const max of sizes) {
    const scale = Math.min(1, max / Math.max(w, h));
    const cw = Math.round(w * scale), ch = Math.round(h * scale);
    const c = new OffscreenCanvasOr(cw, ch);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(src, 0, 0, cw, ch);
    const text = await jsqr(ctx.getImageData(0, 0, cw, ch));
    if (text) return text;
  }
  return null;
}

function OffscreenCanvasOr(w, h) {
  if (self.OffscreenCanvas) return new OffscreenCanvas(w, h);
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  return c;
}

export async function bitmap(file) {
  return createImageBitmap(file, { imageOrientation: 'from-image' });
}

// decodeFile returns the QR text of a photo, or null.
export async function decodeFile(file) {
  const bmp = await bitmap(file);
  try {
    return await decodeSource(bmp, bmp.width, bmp.height, [800, 1400, 2200]);
  } finally { bmp.close && bmp.close(); }
}

// downscale re-encodes a photo as a JPEG at most max pixels on its long
// side (the server's decoder needs no more), upright. A photo already
// small enough is sent as it is.
export async function downscale(file, max = 1600, quality = 0.85) {
  const bmp = await bitmap(file);
  try {
    const scale = Math.min(1, max / Math.max(bmp.width, bmp.height));
    if (scale === 1 && file.size < 1.5e6 && /jpe?g|png/.test(file.type)) return file;
    const w = Math.round(bmp.width * scale), h = Math.round(bmp.height * scale);
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    c.getContext('2d').drawImage(bmp, 0, 0, w, h);
    return await new Promise((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error('canvas'))), 'image/jpeg', quality));
  } finally { bmp.close && bmp.close(); }
}

// Viewfinder: a live camera picture scanned a few times a second.
export async function startViewfinder(video, onText) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 } }, audio: false });
  video.srcObject = stream;
  video.setAttribute('playsinline', '');
  video.muted = true;
  await video.play();
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (video.videoWidth) {
      const text = await decodeSource(video, video.videoWidth, video.videoHeight, [720]).catch(() => null);
      if (text && !stopped) { stop(); onText(text); return; }
    }
    setTimeout(tick, 350);
  };
  const stop = () => { stopped = true; stream.getTracks().forEach((t) => t.stop()); video.srcObject = null; };
  tick();
  return stop;
}

export const cameraAvailable = () => !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) && isSecureContext;
