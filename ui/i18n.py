"""English and Chinese strings: gr.I18n for labels (the browser picks the language), and t() for
text built per request."""

from __future__ import annotations

import gradio as gr

from .story_i18n import STORY_EN, STORY_ZH

EN: dict[str, str] = {
    "title": "# Wan Studio — picture to video",
    "subtitle": "Drop in a picture, pick a model, say what should happen, and get a video back.",
    "banner_simulator": ("**Simulator mode.** Videos here are made by a built-in simulator, not by "
                         "Wan: nothing is charged and nothing leaves this computer. To use the "
                         "real service, set the environment variable `DASHSCOPE_API_KEY` (or a "
                         "Space secret of that name) and start the studio again."),
    "banner_host": ("Videos are made with the host's key (limited to {limit} per hour for each "
                    "visitor) unless you enter your own key below."),
    "banner_byok": "Enter your own Model Studio API key below to make videos.",
    "step_picture": "### 1 · Picture",
    "step_model": "### 2 · Model and settings",
    "step_generate": "### 3 · Video",
    "image": "First frame (drop, paste or use the webcam)",
    "image_url": "…or a public link to the picture",
    "image_url_ph": "https://example.com/photo.jpg",
    "audio": "Voice or music (optional)",
    "audio_url": "…or a public link to the audio",
    "audio_url_ph": "https://example.com/voice.mp3",
    "region": "Region",
    "region_info": "Each region has its own models, prices and keys.",
    "api_key": "Your API key (used for this browser tab only, never stored)",
    "api_key_ph": "sk-…",
    "model": "Model",
    "prompt": "What should happen",
    "prompt_ph": "e.g. The astronaut waves at the camera and smiles.",
    "negative_prompt": "What to avoid",
    "negative_prompt_ph": "e.g. blur, distorted hands",
    "resolution": "Resolution",
    "duration": "Length (seconds)",
    "shot_type": "Shots",
    "shot_type_single": "One continuous shot",
    "shot_type_multi": "Several shots (a short story)",
    "shot_type_info": "Several shots need “Improve my prompt” turned on.",
    "audio_switch": "Make sound",
    "audio_switch_info": "Off: a silent video at half the price.",
    "template": "Effect template",
    "template_none": "No template (describe the motion)",
    "advanced": "Advanced",
    "seed": "Seed (-1 = a new random result each time)",
    "seed_info": "Use the same number with the same settings to get a similar video again.",
    "seed_random": "Random",
    "seed_reuse": "Reuse last seed",
    "prompt_extend": "Improve my prompt (recommended)",
    "watermark": "Add the “AI generated” watermark",
    "output_size": "Video size",
    "price": "Estimated price",
    "code": "The same request as code",
    "generate": "Generate video",
    "cancel": "Cancel",
    "status": "Status",
    "video": "Your video",
    "history_title": "### Your videos in this browser",
    "history_reuse": "Use these settings again",
    "history_hint": "Click a video to play it in the player above.",
    "col_task": "task id", "col_model": "model", "col_prompt": "prompt or template",
    "col_status": "status",
    "history_empty": "Nothing yet: your videos will appear here and stay after a reload.",
    "resume_id": "Resume by task id",
    "resume_id_ph": "the task id of an earlier video, e.g. 0385dc79-…",
    "resume_button": "Resume",
    "examples": "Examples (click one to fill in the form)",
    "ex_astronaut": "Astronaut waves · silent, cheapest",
    "ex_rocket": "Rocket lift-off · with sound",
    "ex_voice": "Astronaut speaks your audio · lip-sync",
    "ex_coffee": "Coffee story · several shots",
    "ex_cat": "Cat balloon · effect template",
    "ex_galaxies": "Galaxies zoom · with music",
    # text built per request
    "fixed_resolution": "This model makes {value} video only.",
    "fixed_duration": "This model makes {value} s videos only.",
    "template_advice": "Best picture for “{name}”: {advice}",
    "template_prompt_hidden": "With a template the prompt is not used.",
    "image_info": "{width}×{height} px, {format}, {size}",
    "image_url_ok": "Link accepted; the service downloads the picture when you generate.",
    "audio_info": "{seconds:.1f} s, {format}, {size}",
    "audio_url_ok": "Link accepted; the service downloads the audio when you generate.",
    "audio_unused": "This model makes silent video; the audio is not used.",
    "size_predicted": "{width}×{height} px, {duration} s, {fps} fps{sound}",
    "size_sound": ", with sound",
    "size_silent": ", silent",
    "size_needs_image": "Add a picture to see the video size ({resolution}).",
    "size_from_url": "About {pixels} pixels at {resolution}, in the shape of your picture.",
    "price_value": ("≈ {amount} {currency} ({duration} s × {rate} {currency}/s, prices of "
                    "{checked})"),
    "price_unknown": "no published price for this model here",
    "price_simulated": "{value} · simulated: free",
    "model_line": "{id} — {summary} · {price}",
    "model_price": "≈{amount} {currency}/s",
    "model_no_price": "price not published",
    "st_queue": ("Waiting for a free slot on your account: position {position} in this studio's "
                 "queue."),
    "st_submitting": "Sending the request…",
    "st_pending": "Queued at the service (PENDING)",
    "st_running": "Making the video (RUNNING)",
    "st_downloading": "Done — downloading the video…",
    "st_succeeded": "Finished in {elapsed}. Task id: `{task_id}`",
    "st_elapsed": "{elapsed} elapsed",
    "st_eta": "about {eta} left",
    "st_task": "Task id: `{task_id}` (keep it to resume later)",
    "st_retrying": "The service is busy; trying again in {seconds} s.",
    "st_canceled": "Cancelled before it started; nothing is charged.",
    "st_cancel_none": "There is no task waiting to be cancelled.",
    "st_cancel_sent": "Cancelling…",
    "st_resumed": "Picked up again after the page was reloaded.",
    "st_need_key": ("{count} unfinished video(s) in your history need your API key: enter it "
                    "above, then open “Resume by task id” and press Resume."),
    "st_nothing": "Add a picture, choose a model, then press “Generate video”.",
    "cap_reached": ("You have made {limit} videos with the host's key this hour; try again in "
                    "{minutes} min, or enter your own API key."),
    "demo_cap_reached": ("You have made {limit} demo videos this hour; try again in {minutes} "
                         "min."),
    "st_busy": ("You already have {count} videos on the way; try again in about {seconds} s, "
                "when one of them is done."),
    "st_line": "Waiting for your earlier videos: position {position} in your own line.",
    "st_waited": "{elapsed} waiting",
    "st_recovering": ("The service did not answer the request; looking in your task list for "
                      "the task it may have made (nothing is sent again)…"),
    "st_candidates": "Tasks started on this key at that moment: {ids}.",
    "err_no_answer": ("The service did not answer and whether it started your video could not be "
                      "checked. Don't press Generate again: check your task list or resume by "
                      "task id."),
    "err_not_sent": ("The request did not reach the service, so nothing was charged. You can "
                     "press Generate again."),
    "err_ambiguous": ("The answer was lost and several videos were started on this key at that "
                      "moment, so yours can't be told apart. Nothing more was sent; resume yours "
                      "by its task id."),
    "err_quota": ("The free quota for this model is used up. Turn on paid use for it in the "
                  "Model Studio console (switch off “free quota only”), or use another key."),
    "st_waited_total": "Before that it waited {elapsed} in line.",
    "st_cancel_not_owner": ("Only the page that started this video can cancel it; this one only "
                            "follows it by its task id."),
    "st_restore_busy": "Your other tabs are picking up your videos already; reload in a moment.",
    "err_invalid_input": "Please fix “{field}”: {rule}.",
    "err_input": ("The service refused the request; check the picture, audio and text, then try "
                  "again."),
    "err_invalid_url": ("The service could not download a link you gave; use a public http(s) link "
                        "or upload the file instead."),
    "err_content": "The content was refused by moderation; try a different picture or prompt.",
    "err_too_large": "The request is too large; use a smaller picture or audio file.",
    "err_media": ("The service could not read the picture or audio; use a JPEG/PNG picture and a "
                  "WAV/MP3 file."),
    "err_auth": ("The API key was not accepted; check it (and that it belongs to the chosen "
                 "region)."),
    "err_access": ("This key may not use the model; activate the model in the Model Studio "
                   "console or "
                   "choose another model."),
    "err_arrearage": "The account has an overdue payment; top it up in the Alibaba Cloud console.",
    "err_model_missing": ("This model is not available in the chosen region; choose another model "
                          "or region."),
    "err_account": ("There is a problem with the key or the account; check them in the Model "
                    "Studio console."),
    "err_rate": "Too many requests right now; wait a minute and try again.",
    "err_service": "The service had a problem; wait a moment and press Generate again.",
    "err_cancel_not_allowed": ("The task is already running and can no longer be cancelled; "
                               "it will finish and be charged."),
    "err_task_failed": ("The service could not make this video; change the picture or prompt and "
                        "try again."),
    "err_task_canceled": "This task was cancelled; nothing is charged.",
    "err_task_expired": ("The service no longer knows this task (the id is wrong, belongs to "
                         "another key, "
                         "or is older than 24 hours)."),
    "err_result_expired": "The video link has expired (they last 24 hours); generate it again.",
    "err_download": "The video download broke off; press Resume with the task id to try again.",
    "err_timeout": ("This is taking longer than expected; the task goes on, resume it later by "
                    "its id."),
    "err_unexpected": "Something went wrong in the studio; please try again.",
    "field_image": "picture", "field_img_url": "picture link", "field_audio_url": "audio",
    "field_audio": "sound", "field_prompt": "prompt", "field_negative_prompt": "what to avoid",
    "field_resolution": "resolution", "field_duration": "length", "field_shot_type": "shots",
    "field_template": "effect template", "field_seed": "seed", "field_model": "model",
    "field_region": "region", "field_api_key": "API key", "field_task_id": "task id",
    "rule_task_id": "paste the task id shown when the video was started",
    "rule_no_key": "enter your own API key to make videos",
}

ZH: dict[str, str] = {
    "title": "# Wan Studio — 图片生成视频",
    "subtitle": "放入一张图片，选择模型，描述画面要发生什么，即可得到一段视频。",
    "banner_simulator": ("**模拟器模式。** 这里的视频由内置模拟器生成，并非通义万相：不产生费用，"
                         "数据不会离开本机。要使用真实服务，请设置环境变量 `DASHSCOPE_API_KEY`"
                         "（或同名的 Space 密钥）后重新启动。"),
    "banner_host": "视频默认使用主机的密钥生成（每位访客每小时最多 {limit} 个），也可以在下方填写您自己的密钥。",
    "banner_byok": "请在下方填写您自己的百炼 API 密钥以生成视频。",
    "step_picture": "### 1 · 图片",
    "step_model": "### 2 · 模型与设置",
    "step_generate": "### 3 · 视频",
    "image": "首帧图片（拖放、粘贴或使用摄像头）",
    "image_url": "…或图片的公网链接",
    "image_url_ph": "https://example.com/photo.jpg",
    "audio": "人声或音乐（可选）",
    "audio_url": "…或音频的公网链接",
    "audio_url_ph": "https://example.com/voice.mp3",
    "region": "地域",
    "region_info": "每个地域有各自的模型、价格和密钥。",
    "api_key": "您的 API 密钥（仅用于当前浏览器标签页，不会保存）",
    "api_key_ph": "sk-…",
    "model": "模型",
    "prompt": "画面要发生什么",
    "prompt_ph": "例如：宇航员对着镜头挥手微笑。",
    "negative_prompt": "不希望出现的内容",
    "negative_prompt_ph": "例如：模糊、手部变形",
    "resolution": "分辨率",
    "duration": "时长（秒）",
    "shot_type": "镜头",
    "shot_type_single": "单一连续镜头",
    "shot_type_multi": "多镜头（短故事）",
    "shot_type_info": "多镜头需要开启“智能改写提示词”。",
    "audio_switch": "生成声音",
    "audio_switch_info": "关闭：无声视频，价格减半。",
    "template": "特效模板",
    "template_none": "不使用模板（用文字描述动作）",
    "advanced": "高级设置",
    "seed": "随机种子（-1 表示每次随机）",
    "seed_info": "相同的数字和设置可以得到相似的视频。",
    "seed_random": "随机",
    "seed_reuse": "使用上一次的种子",
    "prompt_extend": "智能改写提示词（推荐）",
    "watermark": "添加“AI 生成”水印",
    "output_size": "视频尺寸",
    "price": "预估价格",
    "code": "相同请求的代码",
    "generate": "生成视频",
    "cancel": "取消",
    "status": "状态",
    "video": "您的视频",
    "history_title": "### 本浏览器中的视频",
    "history_reuse": "再次使用这些设置",
    "history_hint": "点击视频即可在上方重新播放。",
    "col_task": "任务 ID", "col_model": "模型", "col_prompt": "提示词或模板", "col_status": "状态",
    "history_empty": "暂无记录：生成的视频会显示在这里，刷新页面也不会丢失。",
    "resume_id": "按任务 ID 继续",
    "resume_id_ph": "之前视频的任务 ID，例如 0385dc79-…",
    "resume_button": "继续",
    "examples": "示例（点击即可填入表单）",
    "ex_astronaut": "宇航员挥手 · 无声，最便宜",
    "ex_rocket": "火箭升空 · 有声",
    "ex_voice": "宇航员说出您的音频 · 口型同步",
    "ex_coffee": "咖啡的故事 · 多镜头",
    "ex_cat": "气球猫 · 特效模板",
    "ex_galaxies": "星系推近 · 配乐",
    "fixed_resolution": "该模型只生成 {value} 视频。",
    "fixed_duration": "该模型只生成 {value} 秒视频。",
    "template_advice": "“{name}”适合的图片：{advice}",
    "template_prompt_hidden": "使用模板时不使用提示词。",
    "image_info": "{width}×{height} 像素，{format}，{size}",
    "image_url_ok": "链接可用；生成时由服务下载图片。",
    "audio_info": "{seconds:.1f} 秒，{format}，{size}",
    "audio_url_ok": "链接可用；生成时由服务下载音频。",
    "audio_unused": "该模型生成无声视频，不使用音频。",
    "size_predicted": "{width}×{height} 像素，{duration} 秒，{fps} 帧/秒{sound}",
    "size_sound": "，有声",
    "size_silent": "，无声",
    "size_needs_image": "添加图片后显示视频尺寸（{resolution}）。",
    "size_from_url": "约 {pixels} 像素（{resolution}），保持图片的宽高比。",
    "price_value": "≈ {amount} {currency}（{duration} 秒 × {rate} {currency}/秒，{checked} 价格）",
    "price_unknown": "该模型在此地域没有公开价格",
    "price_simulated": "{value} · 模拟：免费",
    "model_line": "{id} — {summary} · {price}",
    "model_price": "≈{amount} {currency}/秒",
    "model_no_price": "价格未公开",
    "st_queue": "等待账户空闲名额：在本工作室队列中排第 {position} 位。",
    "st_submitting": "正在发送请求…",
    "st_pending": "已在服务端排队（PENDING）",
    "st_running": "正在生成视频（RUNNING）",
    "st_downloading": "已完成 — 正在下载视频…",
    "st_succeeded": "用时 {elapsed} 完成。任务 ID：`{task_id}`",
    "st_elapsed": "已用 {elapsed}",
    "st_eta": "预计还需 {eta}",
    "st_task": "任务 ID：`{task_id}`（保存它以便稍后继续）",
    "st_retrying": "服务繁忙，{seconds} 秒后重试。",
    "st_canceled": "已在开始前取消，不产生费用。",
    "st_cancel_none": "没有可以取消的排队任务。",
    "st_cancel_sent": "正在取消…",
    "st_resumed": "页面刷新后已继续跟踪。",
    "st_need_key": "历史中有 {count} 个未完成的视频需要您的 API 密钥：请在上方填写，然后展开“按任务 ID 继续”并点击“继续”。",
    "st_nothing": "添加图片并选择模型，然后点击“生成视频”。",
    "cap_reached": "您本小时已用主机密钥生成 {limit} 个视频；请 {minutes} 分钟后再试，或填写您自己的 API 密钥。",
    "demo_cap_reached": "您本小时已生成 {limit} 个演示视频；请 {minutes} 分钟后再试。",
    "st_busy": "您已有 {count} 个视频在生成或排队；请约 {seconds} 秒后、其中一个完成时再试。",
    "st_line": "等待您之前的视频：在您自己的队列中排第 {position} 位。",
    "st_waited": "已等待 {elapsed}",
    "st_recovering": "服务没有应答；正在您的任务列表中查找它可能已创建的任务（不会重复发送）…",
    "st_candidates": "同一时刻在此密钥上开始的任务：{ids}。",
    "err_no_answer": "服务没有应答，也无法确认是否已开始生成视频。请不要再次点击“生成视频”：请查看任务列表，或按任务 ID 继续。",
    "err_not_sent": "请求没有到达服务，未产生任何费用。可以再次点击“生成视频”。",
    "err_ambiguous": "应答丢失，且同一密钥在同一时刻开始了多个视频，无法分辨哪个是您的。未再发送任何请求；请按任务 ID 继续您的视频。",
    "err_quota": "该模型的免费额度已用完。请在百炼控制台为该模型开通付费使用（关闭“仅使用免费额度”），或换用其他密钥。",
    "st_waited_total": "此前在队列中等待了 {elapsed}。",
    "st_cancel_not_owner": "只有发起该视频的页面才能取消；此页面只是按任务 ID 跟踪它。",
    "st_restore_busy": "您的其他标签页正在继续跟踪这些视频；请稍后刷新。",
    "err_invalid_input": "请修改“{field}”：{rule}。",
    "err_input": "服务拒绝了请求；请检查图片、音频和文字后重试。",
    "err_invalid_url": "服务无法下载您提供的链接；请使用公网 http(s) 链接，或直接上传文件。",
    "err_content": "内容未通过审核；请换一张图片或修改提示词。",
    "err_too_large": "请求过大；请使用更小的图片或音频文件。",
    "err_media": "服务无法读取图片或音频；请使用 JPEG/PNG 图片和 WAV/MP3 音频。",
    "err_auth": "API 密钥无效；请检查密钥（以及它是否属于所选地域）。",
    "err_access": "该密钥无权使用此模型；请在百炼控制台开通模型，或选择其他模型。",
    "err_arrearage": "账户欠费；请在阿里云控制台充值。",
    "err_model_missing": "所选地域没有这个模型；请选择其他模型或地域。",
    "err_account": "密钥或账户有问题；请在百炼控制台检查。",
    "err_rate": "当前请求过多；请稍等一分钟后重试。",
    "err_service": "服务出现问题；请稍后再次点击“生成视频”。",
    "err_cancel_not_allowed": "任务已在运行，无法取消；它会完成并计费。",
    "err_task_failed": "服务无法生成这个视频；请更换图片或提示词后重试。",
    "err_task_canceled": "该任务已取消，不产生费用。",
    "err_task_expired": "服务已找不到该任务（ID 有误、属于其他密钥，或已超过 24 小时）。",
    "err_result_expired": "视频链接已过期（有效期 24 小时）；请重新生成。",
    "err_download": "视频下载中断；请用任务 ID 点击“继续”重试。",
    "err_timeout": "耗时超出预期；任务仍在进行，稍后可按任务 ID 继续。",
    "err_unexpected": "工作室出现问题；请重试。",
    "field_image": "图片", "field_img_url": "图片链接", "field_audio_url": "音频",
    "field_audio": "声音", "field_prompt": "提示词", "field_negative_prompt": "不希望出现的内容",
    "field_resolution": "分辨率", "field_duration": "时长", "field_shot_type": "镜头",
    "field_template": "特效模板", "field_seed": "随机种子", "field_model": "模型",
    "field_region": "地域", "field_api_key": "API 密钥", "field_task_id": "任务 ID",
    "rule_task_id": "请粘贴开始生成时显示的任务 ID",
    "rule_no_key": "请填写您自己的 API 密钥以生成视频",
}

EN.update(STORY_EN)  # the Story tab's strings live beside it
ZH.update(STORY_ZH)
STRINGS: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}
# Prefixed in the browser: bare keys such as "image" or "video" are taken by Gradio's own strings.
BROWSER_PREFIX = "wan_"
I18N = gr.I18n(**{lang: {BROWSER_PREFIX + k: v for k, v in table.items()}
                  for lang, table in STRINGS.items()})


def label(key: str) -> gr.i18n.I18nData:
    """A label the browser translates into its own language."""
    if key not in EN:
        raise KeyError(key)
    return I18N(BROWSER_PREFIX + key)


def language_of(accept_language: str | None) -> str:
    """'zh' when the browser prefers Chinese, else 'en' (the two languages the studio speaks)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def t(key: str, lang: str = "en", **values: object) -> str:
    """A string in the request's language, with values filled in."""
    table = STRINGS.get(lang, EN)
    text = table.get(key) or EN[key]
    return text.format(**values) if values else text
