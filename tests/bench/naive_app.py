"""The naive baseline of issue 5 §1: a minimal Gradio app whose default handler calls the official
SDK's blocking VideoSynthesis.call() (submit, then wait() with the SDK's own sleeps).

python tests/bench/naive_app.py --base-url URL --api-key KEY --port P
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dashscope
import gradio as gr
import httpx
from dashscope import VideoSynthesis


def build(api_key: str) -> gr.Blocks:
    def generate(image: str, prompt: str, model: str, resolution: str, duration: float,
                 audio: str) -> str:
        sound = {"true": {"audio": True}, "false": {"audio": False}}.get(audio, {})  # "": unsent
        rsp = VideoSynthesis.call(api_key=api_key, model=model, img_url=f"file://{image}",
                                  prompt=prompt, resolution=resolution, duration=int(duration),
                                  **sound)
        if rsp.status_code != 200 or rsp.output.task_status != "SUCCEEDED":
            raise gr.Error(f"{rsp.code}: {rsp.message}")
        # Gradio refuses to fetch a loopback URL itself (SSRF guard), so the handler downloads.
        out = Path(tempfile.mkdtemp(prefix="wan-naive-")) / "video.mp4"
        out.write_bytes(httpx.get(rsp.output.video_url, timeout=120).raise_for_status().content)
        return str(out)

    with gr.Blocks() as demo:
        image = gr.Image(type="filepath")
        prompt = gr.Textbox()
        model = gr.Textbox()
        resolution = gr.Textbox()
        duration = gr.Number()
        audio = gr.Textbox()  # "true", "false" or "" (the model has no sound switch)
        video = gr.Video()
        gr.Button().click(generate, [image, prompt, model, resolution, duration, audio], video,
                          api_name="generate")
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    dashscope.base_http_api_url = args.base_url
    build(args.api_key).launch(server_name="127.0.0.1", server_port=args.port, quiet=True)


if __name__ == "__main__":
    main()
