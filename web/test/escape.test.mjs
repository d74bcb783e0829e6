// Run with `node --test web/test`: the tooltip escaping and the dashboard's use of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { escapeHtml } from '../src/escape.js';

test('an area name with markup becomes text', () => {
  const name = '<img src=x onerror="alert(1)">区&\'';
  const escaped = escapeHtml(name);
  assert.equal(escaped, '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;区&amp;&#39;');
  assert.ok(!/[<>"']/.test(escaped));
  assert.equal(escapeHtml(42), '42');
});

test('every HTML tooltip formatter escapes what it shows', () => {
  for (const file of ['../src/pages/dashboard.ts', '../src/widgets.ts']) {
    const source = readFileSync(new URL(file, import.meta.url), 'utf8');
    const tooltips = source.split('tooltip:').slice(1);
    for (const block of tooltips) {
      const head = block.slice(0, 400);
      const formatter = head.match(/^\s*\{[^}]*?formatter:\s*\([^)]*\)\s*=>\s*\{?([\s\S]*?)(\}\s*,|\},\n)/);
      if (!formatter || /valueFormatter/.test(head.split('formatter')[0] + 'formatter')) continue;
      const body = formatter[1];
      // Names (from the API) must be escaped wherever they are shown, in templates or returned.
      const shown = [...body.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
      const returned = body.match(/^\s*(p\.name[^;\n]*)/);
      if (returned) shown.push(returned[1]);
      for (const expr of shown) {
        if (/name|nameOf|\bL\(/.test(expr)) {
          assert.match(expr.trim(), /^escapeHtml\(/, `${file}: tooltip shows ${expr} unescaped`);
        }
      }
    }
  }
});
