// The policy sandbox (issue 22) as a leader works it: the page opens with a scenario of the current
// settings, "保存并运行" runs it in the background with a progress bar, and the comparison table and
// both charts show the scenario beside the history replayed unchanged.
//
// Called by run.mjs with its helpers; one step, one line of output.

export async function sandboxChecks(t) {
  const { browser, step, need, actor, TIMEOUT } = t;
  const me = await actor(browser, 'leader', 'sandbox');
  try {
    await step('sandbox-leader-runs-a-scenario', me.page, async () => {
      const p = me.page;
      const template = JSON.parse(await p.inputValue('#sb-json'));
      need(template.from && template.to, `the template has no period: ${JSON.stringify(template).slice(0, 200)}`);
      await p.fill('#sb-name', '时限加倍（端到端）');
      await p.fill('#sb-limit-factor', '2');
      await p.fill('#sb-seeds', '4');
      await p.click('[data-testid=sandbox-run]');
      await p.waitForSelector('[data-testid=sandbox-comparison] tr[data-indicator=on_time_closure_rate]', { timeout: TIMEOUT });
      const m = await p.evaluate(() => ({
        rows: document.querySelectorAll('[data-testid=sandbox-comparison] tbody tr').length,
        canvases: document.querySelectorAll('.side-by-side canvas').length,
        change: document.querySelector('tr[data-indicator=on_time_closure_rate] td:last-child')?.textContent ?? '',
      }));
      need(m.rows === 5, `${m.rows} comparison rows`);
      need(m.canvases >= 2, `${m.canvases} charts drawn`);
      return `5 indicators side by side, 2 charts; 按期结案率 change ${m.change}`;
    });
  } finally {
    await me.context.close();
  }
}
