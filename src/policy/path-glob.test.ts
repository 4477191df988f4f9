import { describe, expect, it } from 'vitest';

import { compilePathGlob } from './path-glob.js';

describe('compilePathGlob', () => {
  it('matches a literal path exactly', () => {
    const t = compilePathGlob('/posts/');
    expect(t('/posts/')).toBe(true);
    expect(t('/posts')).toBe(false);
    expect(t('/posts/1')).toBe(false);
  });

  it('keeps * within one segment and lets ** cross segments', () => {
    const one = compilePathGlob('/posts/*');
    expect(one('/posts/1')).toBe(true);
    expect(one('/posts/1/votes')).toBe(false);
    const any = compilePathGlob('/posts/**');
    expect(any('/posts/1/votes')).toBe(true);
    expect(any('/posts/')).toBe(true);
    expect(any('/other/1')).toBe(false);
    expect(compilePathGlob('/**')('/a/b/c')).toBe(true);
    expect(compilePathGlob('/v*/posts')('/v2/posts')).toBe(true);
    expect(compilePathGlob('/v*/posts')('/v2/x/posts')).toBe(false);
  });

  it('treats regex characters in the pattern literally', () => {
    const t = compilePathGlob('/a.b/(x)/*');
    expect(t('/a.b/(x)/1')).toBe(true);
    expect(t('/aXb/(x)/1')).toBe(false);
  });
});
