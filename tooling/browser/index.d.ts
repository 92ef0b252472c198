import type { BrowserContext, Page } from 'playwright-core';

/** The Chromium binary: $CHROMIUM_PATH, else /usr/bin/chromium, else null. */
export function findChromium(): string | null;
/** Why browser tests cannot run here, or null when they can. */
export function browserSkipReason(): string | null;
/** A headless Chromium with a fresh profile; `consoleErrors` collects console errors and page errors. */
export function launchChromium(opts?: { webgpu?: boolean }): Promise<{
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
  close(): Promise<void>;
}>;
/** The two headers that make a page cross-origin isolated. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>>;
/** Serves `root` on 127.0.0.1, with COOP/COEP unless `isolated` is false. */
export function serveStatic(
  root: string,
  opts?: { isolated?: boolean },
): Promise<{ url: string; close(): Promise<void> }>;
