"""The page's stylesheet: the custom views (timeline, job cards, characters, causes, header).

Colours come from Gradio's theme variables where one exists, so the page follows light and dark
mode; the event palette lives in ``render.PALETTE``.
"""

CSS = """
.vx-header { display:flex; justify-content:space-between; align-items:flex-end; gap:1rem;
  padding:.4rem .2rem .8rem; border-bottom:1px solid var(--border-color-primary); }
.vx-header h1 { margin:0; font-size:1.6rem; letter-spacing:-.02em; }
.vx-header p { margin:.15rem 0 0; color:var(--body-text-color-subdued); }
.vx-stats { color:var(--body-text-color-subdued); white-space:nowrap; }
.vx-live { color:var(--color-accent); font-weight:600; }
.vx-empty { display:flex; flex-direction:column; gap:.3rem; padding:1.4rem; text-align:center;
  border:1px dashed var(--border-color-primary); border-radius:10px;
  color:var(--body-text-color-subdued); }
.vx-badge { display:inline-block; padding:.05rem .55rem; border-radius:999px; font-size:.8rem;
  background:var(--background-fill-secondary); border:1px solid var(--border-color-primary); }

.vx-timeline { display:flex; flex-direction:column; gap:3px; padding:.3rem 0;
  overflow-x:auto; }
.vx-lane { display:grid; grid-template-columns:9.5rem 1fr; align-items:center; min-height:22px; }
.vx-lane-name { font-size:.8rem; white-space:nowrap; overflow:hidden; text-overflow:ellipsis;
  padding-right:.5rem; color:var(--body-text-color-subdued); }
.vx-lane-name i { display:inline-block; width:.65rem; height:.65rem; border-radius:2px;
  margin-right:.35rem; vertical-align:-1px; }
.vx-track { position:relative; height:20px; background:var(--background-fill-secondary);
  border-radius:4px; }
.vx-bar, .vx-shot { position:absolute; top:2px; bottom:2px; border:0; padding:0; margin:0;
  border-radius:3px; cursor:pointer; min-width:3px; opacity:.85; }
.vx-bar:hover, .vx-shot:hover { opacity:1; outline:2px solid var(--body-text-color); }
.vx-bar.vx-sel { opacity:1; outline:3px solid var(--color-accent); z-index:2; }
.vx-shots .vx-track { height:12px; }
.vx-shot { top:0; bottom:0; border-radius:0; opacity:.5; }
.vx-shot-0 { background:var(--neutral-300); } .vx-shot-1 { background:var(--neutral-400); }
.vx-axis .vx-track { background:none; height:16px; }
.vx-axis span { position:absolute; font-size:.72rem; color:var(--body-text-color-subdued);
  transform:translateX(-50%); }
.vx-axis span:first-child { transform:none; }
.vx-axis span.vx-tick-end { transform:translateX(-100%); }

.vx-said { position:absolute; top:3px; bottom:3px; border:0; padding:0; margin:0;
  border-radius:3px; cursor:pointer; min-width:3px; opacity:.8; }
.vx-said:hover { opacity:1; outline:2px solid var(--body-text-color); }
.vx-said.vx-sel { opacity:1; outline:3px solid var(--color-accent); z-index:2; }
.vx-said-speech, .vx-swatch-speech { background:#2f6f9f; }
.vx-said-text, .vx-swatch-text { background:#8a6d3b; }
.vx-lane-empty { position:absolute; left:.5rem; top:50%; transform:translateY(-50%);
  font-size:.75rem; color:var(--body-text-color-subdued); white-space:nowrap; overflow:hidden;
  text-overflow:ellipsis; max-width:calc(100% - 1rem); }

.vx-transcript { display:flex; flex-direction:column; gap:.35rem; }
.vx-transcript-head { font-size:.85rem; font-weight:600; color:var(--body-text-color-subdued); }
.vx-lines { position:relative; list-style:none; margin:0; padding:0; max-height:14rem;
  overflow-y:auto; border:1px solid var(--border-color-primary); border-radius:8px; }
.vx-line { display:flex; gap:.6rem; width:100%; text-align:left; padding:.3rem .6rem; border:0;
  border-left:3px solid transparent; background:none; font:inherit; color:inherit;
  cursor:pointer; }
.vx-line:hover { background:var(--background-fill-secondary); }
.vx-line.vx-now { border-left-color:var(--color-accent); font-weight:600;
  background:var(--background-fill-secondary); }
.vx-t { flex:none; min-width:3.2rem; font-variant-numeric:tabular-nums;
  color:var(--body-text-color-subdued); }
.vx-note { margin:.2rem 0 0; font-size:.85rem; color:var(--body-text-color-subdued); }

.vx-jobs, .vx-batch { display:flex; flex-direction:column; gap:.6rem; }
.vx-batch-head { font-size:.8rem; color:var(--body-text-color-subdued); }
.vx-job { display:block; width:100%; text-align:left; padding:.7rem .9rem; border-radius:10px;
  border:1px solid var(--border-color-primary); background:var(--background-fill-primary);
  font:inherit; color:inherit; }
button.vx-job { cursor:pointer; } button.vx-job:hover { border-color:var(--color-accent); }
.vx-job-head { display:flex; gap:.6rem; align-items:center; }
.vx-open { margin-left:auto; color:var(--color-accent); font-weight:600; }
.vx-progress { height:8px; margin:.5rem 0 .35rem; border-radius:999px;
  background:var(--background-fill-secondary); overflow:hidden; }
.vx-progress div { height:100%; background:var(--color-accent); transition:width .4s; }
.vx-status-failed .vx-progress div { background:#e15759; }
.vx-status-cancelled .vx-progress div, .vx-status-stopped .vx-progress div { background:#9c9c9c; }
.vx-job-facts { font-size:.85rem; color:var(--body-text-color-subdued); }
.vx-job-error { margin-top:.3rem; font-size:.85rem; color:#c0392b; }
.vx-upload-note { color:#c0392b; font-size:.9rem; }
.vx-upload-note:empty { display:none; }

.vx-cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(260px, 1fr)); gap:.7rem; }
.vx-card { display:flex; gap:.7rem; text-align:left; padding:.6rem; border-radius:10px;
  border:1px solid var(--border-color-primary); background:var(--background-fill-primary);
  cursor:pointer; font:inherit; color:inherit; }
.vx-card:hover, .vx-card.vx-sel { border-color:var(--color-accent); }
.vx-card img, .vx-avatar { width:84px; height:64px; object-fit:cover; border-radius:6px;
  flex:none; }
.vx-avatar { display:flex; align-items:center; justify-content:center; color:#fff;
  font-size:1.6rem; font-weight:700; }
.vx-card p { margin:.2rem 0; font-size:.85rem; }
.vx-card small { color:var(--body-text-color-subdued); }

.vx-chains { display:flex; flex-direction:column; gap:.6rem; }
.vx-chain { display:flex; flex-wrap:wrap; align-items:center; gap:.4rem; padding:.5rem;
  border-left:3px solid var(--color-accent); background:var(--background-fill-secondary);
  border-radius:6px; }
.vx-chip { padding:.3rem .6rem; border-radius:999px; border:1px solid var(--border-color-primary);
  background:var(--background-fill-primary); cursor:pointer; font:inherit; color:inherit; }
.vx-chip span { font-variant-numeric:tabular-nums; color:var(--body-text-color-subdued); }
.vx-chip:hover, .vx-chip.vx-sel { border-color:var(--color-accent); }
.vx-arrow { font-size:.85rem; color:var(--body-text-color-subdued); }
#answer { min-height:3rem; }
/* The chat's toolbar gets its own row: drawn over the messages, it hid the text scrolled
   under it. */
#chat .icon-button-wrapper.top-panel { position:static; justify-content:flex-end;
  margin:0 0 .2rem auto; width:max-content; }

/* A laptop screen (1024x700 and the like): the header, the player and the search results give
   up height so the timeline's lanes are on the first screen, not below the fold. */
@media (max-height: 820px), (max-width: 1100px) {
  .vx-header { padding:.1rem .2rem .35rem; }
  .vx-header h1 { font-size:1.25rem; }
  .vx-header p { display:none; }
  #video-select [data-testid="block-info"], #search-scope [data-testid="block-info"],
  #search-box [data-testid="block-info"] { display:none; }
  #player video { max-height:32vh; }
  #player { min-height:0 !important; }
  #search-results { max-height:24vh; overflow:auto; }
  #selected { min-height:0; }
  /* The parts under the player sit closer than Gradio's 16 px, so a laptop's first screen
     shows the timeline's lanes too. */
  #player-col { gap:6px; }
}
"""
