extension OperatorPageController {
    /// `GET /ui/operator.css`. Colours meet WCAG AA contrast (4.5:1) for text; every state is
    /// also written in words.
    static let css = #"""
:root {
  --ink: #1b1f24; --muted: #4a5360; --paper: #ffffff; --page: #f3f4f6; --line: #c9ced6;
  --focus: #1a56db; --accent: #1a56db;
  --up-ink: #0b5a27; --up-bg: #dcf3e3; --down-ink: #8a1111; --down-bg: #fde2e2;
  --draining-ink: #6e4300; --draining-bg: #fdefd0; --unknown-ink: #363d48; --unknown-bg: #e4e7ec;
  --busy: #4a5360; --reserved: #b45f06; --free: #2f8a4f;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--page); line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: .5rem 0; }
h4 { font-size: .95rem; margin: .25rem 0; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: .5rem; top: .5rem; background: var(--paper); padding: .25rem .5rem; z-index: 1; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; background: #14213d; color: #ffffff; }
.connection { margin: 0; padding: .15rem .6rem; border-radius: 1rem; font-size: .9rem; background: #e4e7ec; color: #1b1f24; }
.connection[data-connection="live"] { background: var(--up-bg); color: var(--up-ink); }
.connection[data-connection="reconnecting"] { background: var(--draining-bg); color: var(--draining-ink); }
.connection[data-connection="token"] { background: var(--down-bg); color: var(--down-ink); }
main { max-width: 80rem; margin: 0 auto; padding: 0 1rem 2rem; }
.panel { background: var(--paper); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem 1rem 1rem; margin-top: 1rem; }
.note { color: var(--muted); margin: .25rem 0; }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 10rem), 1fr)); gap: .5rem; margin: 0; }
.totals > div { background: var(--paper); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
.totals dt { color: var(--muted); font-size: .85rem; }
.totals dd { margin: 0; font-size: 1.35rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.servers { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
.server { background: var(--paper); border: 1px solid var(--line); border-left: .4rem solid var(--unknown-ink);
  border-radius: .5rem; padding: .6rem .8rem; min-width: 0; }
.server[data-state="up"] { border-left-color: var(--free); }
.server[data-state="down"] { border-left-color: var(--down-ink); }
.server[data-state="draining"] { border-left-color: var(--reserved); }
.server-head { display: flex; flex-wrap: wrap; gap: .25rem .5rem; align-items: baseline; justify-content: space-between; }
.server-url { font-weight: 600; overflow-wrap: anywhere; min-width: 0; }
.state { display: inline-block; padding: 0 .55rem; border-radius: 1rem; font-size: .85rem; font-weight: 600; }
.state-up { background: var(--up-bg); color: var(--up-ink); }
.state-down { background: var(--down-bg); color: var(--down-ink); }
.state-draining { background: var(--draining-bg); color: var(--draining-ink); }
.state-unknown { background: var(--unknown-bg); color: var(--unknown-ink); }
.capacity { display: flex; height: .9rem; margin: .5rem 0 .25rem; border-radius: .25rem; overflow: hidden;
  background: #eceef1; border: 1px solid var(--line); }
.capacity span { display: block; height: 100%; }
.seg-busy { background: var(--busy); }
.seg-reserved { background: var(--reserved); }
.seg-free { background: var(--free); }
.legend { font-size: .9rem; margin: 0; font-variant-numeric: tabular-nums; }
.key { display: inline-block; width: .7rem; height: .7rem; border-radius: .15rem; margin-right: .2rem; vertical-align: -.05rem; }
.facts { display: grid; grid-template-columns: auto 1fr; gap: .1rem .75rem; margin: .4rem 0 0; font-size: .9rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; font-variant-numeric: tabular-nums; }
.why { color: var(--down-ink); }
.entries { padding-left: 1.5rem; margin: .5rem 0; }
.entries li { margin: .35rem 0; }
.entry { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: center; }
.entry-url { overflow-wrap: anywhere; min-width: 0; }
.tag { font-size: .8rem; padding: 0 .4rem; border-radius: .25rem; background: #e0e9fb; color: #123a8c; }
.entry-error { color: var(--down-ink); margin: .15rem 0 0; font-weight: 600; }
.entry-check { color: var(--muted); margin: .15rem 0 0; font-size: .9rem; }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.add { margin-top: .75rem; }
.add label { display: block; font-weight: 600; margin-bottom: .25rem; }
input { font: inherit; padding: .4rem .5rem; border: 1px solid #6b7380; border-radius: .3rem; min-width: 0;
  flex: 1 1 16rem; max-width: 100%; color: var(--ink); background: var(--paper); }
button { font: inherit; padding: .4rem .8rem; border-radius: .3rem; border: 1px solid #4a5360; background: var(--paper);
  color: var(--ink); cursor: pointer; }
button:hover { background: #eef1f5; }
button.primary { background: var(--accent); border-color: var(--accent); color: #ffffff; }
button.primary:hover { background: #1646b3; }
button.danger { border-color: var(--down-ink); color: var(--down-ink); }
button:disabled { opacity: .6; cursor: default; }
.actions { margin-top: .75rem; }
.result { min-height: 1.2rem; margin: .4rem 0; overflow-wrap: anywhere; }
.result.ok { color: var(--up-ink); }
.result.warn { color: var(--draining-ink); }
.result.bad { color: var(--down-ink); font-weight: 600; }
.conflict { border: 2px solid var(--draining-ink); border-radius: .5rem; padding: .5rem 1rem; margin-top: .75rem; background: #fffaf0; }
.compare { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr)); }
.compare ol { padding-left: 1.5rem; margin: .25rem 0; }
.compare li { overflow-wrap: anywhere; }
.compare .only { font-weight: 700; }
.access { border-color: var(--down-ink); }
[hidden] { display: none !important; }
"""#
}
