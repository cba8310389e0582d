import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API server (Starlette) listens on 127.0.0.1:8000 in development.
// In production the built files in dist/ are served by the same origin as the API.
const backend = "http://127.0.0.1:8000";
const proxy = {
  "/api": { target: backend },
  "/dicomweb": { target: backend },
  "/healthz": { target: backend },
  "/readyz": { target: backend },
};

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The viewer's lazily loaded chunk carries Cornerstone3D (vtk.js, tools, loader): about 3 MB.
    chunkSizeWarningLimit: 4096,
  },
  // Cornerstone's DICOM image loader decodes in module web workers and loads its codecs
  // (JPEG, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL) as WebAssembly; Vite emits the .wasm files as assets
  // from the loader's new URL("@cornerstonejs/codec-…", import.meta.url). See Cornerstone's Vite guide.
  worker: { format: "es" },
  optimizeDeps: {
    // Dev server only: the loader is served as is, so that its worker and wasm URLs keep working;
    // the CommonJS/UMD pieces it imports (codec glue, dicom-parser) are pre-bundled for it.
    exclude: ["@cornerstonejs/dicom-image-loader"],
    include: [
      "dicom-parser",
      "@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-charls/decodewasmjs",
      "@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs",
      "@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-libjxl/decodewasmjs",
      "@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-openjpeg/decodewasmjs",
      "@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-openjph/wasmjs",
      "@cornerstonejs/dicom-image-loader > pako",
      "@cornerstonejs/dicom-image-loader > comlink",
    ],
  },
  server: { port: 5173, proxy },
  preview: { proxy },
});
