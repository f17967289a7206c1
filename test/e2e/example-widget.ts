import type { Locator, Page } from 'playwright-core';

/**
 * The example widget's result boxes (examples/widget/widget.js): each shows "…" while its call
 * runs, then the answer as JSON or a styled error.
 */

/** The box `#id` once its call has settled. */
export async function widgetResult(page: Page, id: string): Promise<Locator> {
  await page.waitForFunction((sel) => {
    const el = (globalThis as any).document.querySelector(sel);
    return el !== null && el.textContent !== '' && el.textContent !== '…';
  }, `#${id}`);
  return page.locator(`#${id}`);
}

/** The JSON answer the box `#id` shows; an error box fails with its text (what went wrong). */
export async function widgetAnswer(page: Page, id: string): Promise<unknown> {
  const text = (await (await widgetResult(page, id)).textContent()) ?? '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`#${id} shows no JSON answer: ${text}`);
  }
}
