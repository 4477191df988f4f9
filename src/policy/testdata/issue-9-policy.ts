// The policy of issue 9's example, verbatim, inside a config with the account and backend it names.
export const ISSUE_9_CONFIG = `backends:
  local: { type: embedded, path: s.enc, keyFile: s.key }
accounts:
  paper-binance:
    venue: binance
    mode: paper
    baseUrl: http://127.0.0.1:9000
    credentials: { apiKey: 'local:k#a', secret: 'local:k#s' }
  live-kraken:
    venue: kraken
    mode: live
    credentials: { apiKey: 'local:k#a', secret: 'local:k#s' }
addressBook:                       # withdrawal destinations: labels bound to addresses by the operator, never by an agent
  cold-usdt: { asset: USDT, network: TRX, address: "T…", memo: null }
policies:
  paper-trader:
    rules:
      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order]
        accounts: [paper-binance]
      - allow: [place_order, cancel_order, cancel_all_orders]
        accounts: [paper-binance]
        symbols: ["BTC/USDT", "ETH/*"]
        maxNotional: 500            # per order, in the quote asset
        priceBand: 2%               # limit price within 2% of the reference price
        hours: { days: mon-fri, time: "08:00-20:00", timeZone: Europe/Lisbon }
      - approve: [place_order]      # bigger orders wait for an operator
        accounts: [paper-binance]
        maxNotional: 5000
      - approve: [withdraw]
        destinations: [cold-usdt]
        maxAmount: 1000
      - deny: [place_order]
        symbols: ["*/BUSD"]
    limits:
      - { per: agent, window: 24h, notional: 10000, quote: USDT }
      - { per: account, window: 1m, orders: 30 }
      - { per: account, openOrders: 10 }
      - { per: account, window: 24h, withdrawals: 2000, asset: USDT }
`;
