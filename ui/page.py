"""The page's own CSS and JavaScript (passed to gr.Blocks.launch and to one event)."""

from __future__ import annotations

from .records import HISTORY_LIMIT

# Merged in the browser, at once: two events (a generation and a resumed task) may report
# records at the same moment, and a server round trip could lose one of them. The result is
# wrapped in a list because a returned array means "one value per output".
MERGE_RECORD_JS = """(record, history) => {
  const list = Array.isArray(history) ? history : [];
  if (!record || !record.token) return [list];
  const rest = list.filter((r) => r && r.token !== record.token);
  return [[record, ...rest].slice(0, LIMIT)];
}""".replace("LIMIT", str(HISTORY_LIMIT))
CSS = """
.gradio-container { max-width: 1280px !important; margin: auto; }
#banner { border-left: 4px solid var(--color-accent); padding: 8px 14px; border-radius: 6px;
          background: var(--background-fill-secondary); }
#status { min-height: 3em; }
#generate { font-size: 1.1em; }
.hint { font-size: 0.9em; opacity: 0.85; }
#history-gallery .grid-container { grid-template-columns: repeat(auto-fill, 180px) !important;
                                   grid-auto-rows: 180px !important; }
#history-gallery .thumbnail-item { width: 180px !important; height: 180px !important; }
#history-gallery .grid-wrap { padding-top: 40px; }
"""


# Counts the status line's clocks (ui.status.ticking) in the page; the format is duration_text's.
TICK_CLOCKS_JS = """
() => {
  const show = (s, zh) => {
    const m = Math.floor(s / 60), r = s % 60, rr = String(r).padStart(2, "0");
    return zh ? (m ? `${m} 分 ${rr} 秒` : `${r} 秒`) : (m ? `${m} min ${rr} s` : `${r} s`);
  };
  setInterval(() => {
    const now = performance.now() / 1000;
    for (const el of document.querySelectorAll(".wan-clock")) {
      if (el.wanSeen === undefined) {
        el.wanSeen = now;
        el.wanStart = Number((el.className.match(/wan-s-(\\d+)/) || [0, 0])[1]);
      }
      const step = el.classList.contains("wan-down") ? -1 : 1;
      const s = el.wanStart + step * (now - el.wanSeen);
      el.textContent = show(Math.max(0, Math.round(s)), el.classList.contains("wan-zh"));
    }
  }, 500);
}
"""

