import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API server (Starlette) listens on 127.0.0.1:8000 in development.
// In production the built files in dist/ are served by the same origin as the API.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: backend },
      "/healthz": { target: backend },
      "/readyz": { target: backend },
    },
  },
  preview: {
    proxy: {
      "/api": { target: backend },
      "/healthz": { target: backend },
      "/readyz": { target: backend },
    },
  },
});
