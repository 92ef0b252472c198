// The flag table is the one place a flag is declared; these checks keep it whole.

import { PRESETS } from '@tinyformer/recipe';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type Command, FLAGS, type Flag, flagsOf } from '../src/flags.js';
import { SETTING_FLAGS } from '../src/settings-diff.js';

describe('the flag table', () => {
  it('has one flag per name and command', () => {
    for (const command of Object.keys(COMMANDS) as Command[]) {
      const names = flagsOf(command).map((f) => f.name);
      expect(new Set(names).size, command).toBe(names.length);
    }
  });

  it('has a flag for every training setting', () => {
    const settings = Object.keys(PRESETS.tiny).filter((k) => k !== 'model');
    for (const k of settings) expect(SETTING_FLAGS[k], k).toMatch(/^--/);
    for (const k of Object.keys(PRESETS.tiny.model)) expect(SETTING_FLAGS[k], k).toMatch(/^--/);
  });

  it('gives a boolean flag with a setting the value it sets', () => {
    for (const f of FLAGS as readonly Flag[]) {
      if (f.type === 'boolean' && f.setting) expect(typeof f.sets, f.name).toBe('boolean');
    }
  });
});
