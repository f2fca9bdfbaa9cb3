import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served under /console/ both by the local stack and by CloudFront (infra-cdk), so one build serves both.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    // No inline scripts or styles: the content security policy allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
