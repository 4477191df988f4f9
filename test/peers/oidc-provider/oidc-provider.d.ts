// oidc-provider ships no types; this declares only what main.ts uses (v9 API,
// https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md).
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  /** An OpenID Provider: a Koa application. */
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    listen(port: number, host: string, ready: () => void): Server;
    on(event: string, listener: (...args: unknown[]) => void): this;
    proxy: boolean;
  }

  export const errors: {
    readonly InvalidTarget: new (description?: string) => Error;
  };
}
