/**
 * Browser tests of the lab under a real JupyterHub (ui-tests/hub/). Not run by `npx playwright
 * test`: `scripts/hub-ui-tests.py` starts the hub of tests/hub/ (users alice, bob and carol,
 * their servers), then runs these against it with NJ_HUB_URL and NJ_HUB_PASSWORD set.
 */
const base = require('./playwright.config');

module.exports = {
  ...base,
  testDir: 'hub',
  testIgnore: [],
  webServer: undefined,
  use: { ...base.use, baseURL: process.env.NJ_HUB_URL }
};
