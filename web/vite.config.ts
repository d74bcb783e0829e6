import { defineConfig } from 'vite';

const api = process.env.URBIS_API || 'http://127.0.0.1:8091';

export default defineConfig({
  base: './',
  build: {
    outDir: process.env.URBIS_WEB_OUT || 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/open311': { target: api, changeOrigin: false },
    },
  },
});
