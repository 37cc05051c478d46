// The Vite dev server the proxy e2e puts behind `crossguard proxy`. Nothing proxy-specific:
// the HMR client connects to the page's own host and port (the proxy's), as it does by default.
export default {
  root: import.meta.dirname,
  logLevel: 'info',
  clearScreen: false,
  server: { host: '127.0.0.1', strictPort: true },
};
