// Decodes QR codes off the main thread with the vendored jsQR (loaded
// only where the browser has no BarcodeDetector).
importScripts('vendor/jsqr/jsQR.js');
onmessage = (e) => {
  const { id, width, height, data } = e.data;
  let text = null;
  try {
    const r = jsQR(new Uint8ClampedArray(data), width, height, { inversionAttempts: 'attemptBoth' });
    text = r ? r.data : null;
  } catch (err) {
    text = null;
  }
  postMessage({ id, text });
};
