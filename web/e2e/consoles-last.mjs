// The last points of the consoles (issue 15, see consoles.mjs): the hotline's category picker
// narrows as the operator types, like the dispatch and admin pickers; and a department's handler,
// who sees the reporter's phone masked on the card, reveals it in place to call the resident back.

export async function lastChecks(t, shared) {
  const { step, need, goto, pages, TIMEOUT } = t;
  const { operator, handler } = pages;
  const { newCase } = shared;

  await step('hotline-category-search-narrows', operator.page, async () => {
    const p = operator.page;
    await goto(p, 'hotline');
    const visible = () =>
      p.$$eval('select[name=category] option', (os) =>
        os.filter((o) => o.value && !o.hidden && !(o.parentElement instanceof HTMLOptGroupElement && o.parentElement.hidden)).map((o) => `${o.parentElement.label ?? ''}/${o.textContent.trim()}`),
      );
    const before = await visible();
    await p.keyboard.press('Alt+C');
    need(await p.evaluate(() => document.activeElement?.getAttribute('name') === 'category_search'), 'Alt+C did not reach the category search');
    await p.fill('[name=category_search]', '路灯');
    const after = await visible();
    need(after.length >= 1 && after.length < before.length, `${before.length} options → ${after.length} after typing 路灯`);
    need(after.every((o) => o.includes('路灯')), `an option without 路灯: ${after.join(', ')}`);
    const chosen = await p.$eval('select[name=category]', (s) => s.selectedOptions[0]?.textContent.trim() ?? '');
    if (after.length === 1) need(chosen.includes('路灯'), `the one match is not chosen (${chosen})`);
    // Enter in the search files nothing; a new call shows every category again.
    await p.press('[name=category_search]', 'Enter');
    need(!(await p.$('.hotline-form .status.ok .case-number')), 'Enter in the search filed the call');
    await p.keyboard.press('Alt+N');
    const again = await visible();
    need(again.length === before.length, `${again.length} options after a new call, ${before.length} before`);
    return `${before.length} categories → ${after.length} for 路灯 (${after.slice(0, 3).join(', ')})${after.length === 1 ? `, chosen "${chosen}"` : ''}; all again after Alt+N`;
  });

  await step('workbench-handler-reveals-the-phone', handler.page, async () => {
    const phone = '13900004321';
    const c = await newCase('dispatched', { reporter_phone: phone, reporter_name: '李先生' });
    const p = handler.page;
    await goto(p, 'workbench');
    const card = `article[data-number="${c.number}"]`;
    await p.waitForSelector(card, { timeout: TIMEOUT });
    const masked = (await p.textContent(`${card} [data-testid=reporter]`)).trim();
    need(!masked.includes(phone) && masked.includes('4321') && masked.includes('*'), `the card shows "${masked}"`);
    await p.click(`${card} [data-testid=reveal-phone]`);
    await p.waitForSelector(`${card} [data-testid=reporter][data-revealed="1"]`, { timeout: TIMEOUT });
    const link = await p.$eval(`${card} a[data-testid=reporter-phone]`, (a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() }));
    need(link.href === `tel:${phone}` && link.text === phone, `link ${JSON.stringify(link)}`);
    const shown = (await p.textContent(`${card} [data-testid=reporter]`)).trim();
    need(shown.includes('李先生'), `name not shown: ${shown}`);
    return `${c.number}: "${masked}" → "${shown}" (tel: link)`;
  });
}
