"""A half-filled petition survives the process being killed: `python -m bot` (the real entry
point, as a subprocess) long-polls the stand-in Telegram server; the citizen gets halfway through
the form, the process is SIGKILLed (no clean shutdown), a new process starts on the same
database, and the citizen carries on where they were, buttons of the earlier messages included,
to the tracking code."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.tools.cli import env_for, stop
from tests.tools.net import free_port
from tests.tools.telegram_server import FakeTelegram, FakeUser, button

CONTENT = (
    "Thời gian chờ tại bộ phận một cửa quận quá lâu, hơn ba giờ mới đến lượt, không có hệ thống "
    "xếp hàng tự động. Đề nghị lắp máy lấy số thứ tự và thông báo thời gian chờ dự kiến."
)
STARTUP_TIMEOUT = 90.0  # importing aiogram alone takes seconds on a loaded machine


def start(tmp_path: Path, fake: FakeTelegram, log: Path) -> subprocess.Popen[str]:
    env = env_for(
        tmp_path, WEB_PORT=str(free_port()), BOT_TOKEN=fake.token, TELEGRAM_API_SERVER=fake.base_url
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_a_half_filled_form_survives_sigkill(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    log = tmp_path / "bot.log"
    citizen = FakeUser(id=6101, first_name="Chi")
    proc = start(tmp_path, fake, log)
    second: subprocess.Popen[str] | None = None
    try:
        menu = await fake.reply_to(fake.text_update(citizen, "/phananh"), timeout=STARTUP_TIMEOUT)
        step = await fake.reply_to(
            fake.callback_update(
                citizen, fake.message_of(menu), button(menu, "Gửi phản ánh mới")["callback_data"]
            )
        )
        assert "Bước 1/7" in step.text
        topic_message = fake.message_of(step)
        step = await fake.reply_to(
            fake.callback_update(
                citizen, topic_message, button(step, "Dịch vụ tại")["callback_data"]
            )
        )
        assert "Bước 2/7" in step.text
        step = await fake.reply_to(fake.text_update(citizen, CONTENT))
        files_step = step
        step = await fake.reply_to(
            fake.callback_update(
                citizen, fake.message_of(step), button(step, "Bỏ qua")["callback_data"]
            )
        )
        assert "Bước 4/7" in step.text
        step = await fake.reply_to(fake.text_update(citizen, "Lê Thị Chi"))
        assert "Bước 5/7" in step.text

        proc.send_signal(signal.SIGKILL)  # no shutdown at all
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL

        second = start(tmp_path, fake, log)
        # The conversation state was in the database: the phone step goes on.
        step = await fake.reply_to(
            fake.text_update(citizen, "0987 654 321"), timeout=STARTUP_TIMEOUT
        )
        assert "Bước 6/7" in step.text or "0987654321" in step.text
        await fake.wait_for(lambda c: c.method == "sendMessage" and "Bước 6/7" in c.text)
        review = await fake.reply_to(
            fake.text_update(citizen, "45 Trần Hưng Đạo, phường Cửa Nam, Hà Nội")
        )
        assert (
            "Bước 7/7" in review.text
            and "Lê Thị Chi" in review.text
            and CONTENT[:40] in review.text
        )

        # A button of a message the killed process sent still belongs to this form.
        back = await fake.reply_to(
            fake.callback_update(
                citizen,
                fake.message_of(files_step),
                button(files_step, "Quay lại")["callback_data"],
            )
        )
        assert "Bước 6/7" in back.text  # from the review, Back goes to the address step
        since = fake.mark()
        data = button(review, "Gửi phản ánh")["callback_data"]
        fake.push(fake.callback_update(citizen, fake.message_of(review), data))
        thanks = await fake.wait_for(
            lambda c: c.method == "sendMessage" and c.chat_id == citizen.id and "PAKN-" in c.text,
            since=since,
        )
        assert thanks.ok
    finally:
        if second is not None:
            stop(second)
        if proc.poll() is None:
            proc.kill()
        await fake.stop()
    assert second.returncode == 0, log.read_text()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        rows = db.execute(
            "SELECT tracking_code, sender_name, phone, topic_kind FROM petitions"
        ).fetchall()
    assert len(rows) == 1
    code, name, phone, kind = rows[0]
    assert code in thanks.text and (name, phone, kind) == ("Lê Thị Chi", "0987654321", "service")
    assert "Traceback" not in log.read_text() and fake.token not in log.read_text()
