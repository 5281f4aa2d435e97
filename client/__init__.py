"""Wan image-to-video on Alibaba Model Studio (DashScope): catalog, requests, HTTP client, tasks."""
