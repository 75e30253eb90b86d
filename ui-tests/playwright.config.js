/**
 * Browser tests run in Debian's Chromium (Playwright cannot download browsers on the CI machines).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.NJ_UI_TESTS_PORT || '8899';

module.exports = {
  ...baseConfig,
  timeout: 120000,
  // ui-tests/hub/ needs a hub: scripts/hub-ui-tests.py runs it (playwright.hub.config.js).
  testIgnore: ['hub/**'],
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    trace: 'off',
    video: 'off',
    launchOptions: {
      executablePath: process.env.NJ_CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'npm start',
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    // A normal shutdown, so the server removes the run's temporary catalog and store
    // (jupyter_server_test_config.py) instead of leaving them in /tmp.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15000 }
  }
};
