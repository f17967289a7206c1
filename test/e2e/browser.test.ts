import { describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';

describe('browser test setup', () => {
  it('fails, naming the Debian package, when Chromium is missing (never a silent skip)', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(/\/nonexistent\/chromium, which is missing\. Install Debian's package: `sudo apt-get update && sudo apt-get install -y chromium`/);
  });
});
