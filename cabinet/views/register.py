"""«Регистрация», as the manual has it: every field of the form, the code word «для
обращения в Контакт-Центр», the password rule, the user agreement to read and tick (its
version is what the registration records), the code from the picture, «Зарегистрироваться»;
then the 4-digit code from the SMS, and the customer is in."""
from __future__ import annotations

import streamlit as st

from cabinet.activation import code_step, wait_for_code, waiting
from cabinet.widgets import flash, get_app, show_error, show_flash
from core import customer_api as api

CAPTCHA = "cab_captcha"
PASSWORD_RULE = ("Пароль для личного кабинета должен содержать не менее 6 цифр и может "
                 "включать латинские буквы и цифры")
REGISTERED = ("Личный кабинет зарегистрирован. На номер мобильного телефона, указанный в "
              "форме регистрации, отправлено SMS с кодом активации (код состоит из 4 цифр).")
CODE_WORD_HINT = ("Кодовое слово необходимо для обращения в Контакт-Центр (для идентификации "
                  "пользователя)")


def _captcha() -> api.CaptchaChallenge:
    if CAPTCHA not in st.session_state:
        st.session_state[CAPTCHA] = api.new_captcha(get_app())
    return st.session_state[CAPTCHA]


def _form() -> None:
    app = get_app()
    agreement = api.user_agreement(app)
    show_flash()
    with st.form("cab_register"):
        surname = st.text_input("Фамилия", key="cab_reg_surname")
        first_name = st.text_input("Имя", key="cab_reg_first_name")
        patronymic = st.text_input("Отчество", key="cab_reg_patronymic")
        phone = st.text_input("Мобильный телефон", placeholder="+7 9XX XXX-XX-XX",
                              help="На этот номер придёт SMS с кодом активации",
                              key="cab_reg_phone")
        email = st.text_input("E-mail", key="cab_reg_email")
        password = st.text_input("Пароль", type="password", help=PASSWORD_RULE,
                                 key="cab_reg_password")
        repeat = st.text_input("Повторите пароль", type="password", key="cab_reg_repeat")
        st.caption(PASSWORD_RULE)
        code_word = st.text_input("Кодовое слово", help=CODE_WORD_HINT, key="cab_reg_code_word")
        st.caption(CODE_WORD_HINT)
        with st.expander(f"Пользовательское соглашение (редакция {agreement.version})"):
            st.text(agreement.text)
        accepted = st.checkbox("Я ознакомился с пользовательским соглашением и принимаю его",
                               key="cab_reg_agreement")
        challenge = _captcha()
        st.markdown(f"**Код с картинки** (защита от автоматических регистраций): "
                    f"{challenge.question}")
        answer = st.text_input("Код с картинки", key="cab_reg_captcha")
        submitted = st.form_submit_button("Зарегистрироваться", type="primary")
    if not submitted:
        return
    if password != repeat:
        st.error("Повторите пароль: пароли не совпадают")
        return
    form = api.Registration(
        phone=phone, email=email, password=password, code_word=code_word,
        agreement_accepted=accepted, captcha_token=challenge.token, captcha_answer=answer,
        personal=api.PersonalData(surname=surname or None, first_name=first_name or None,
                                  patronymic=patronymic or None))
    try:
        customer_id = api.register(app, form)
    except api.DomainError as error:
        if error.field == "captcha":  # a wrong or spent answer: a new question, drawn now
            st.session_state.pop(CAPTCHA, None)
            flash(str(error), "error")
            st.rerun()
        show_error(error)
        return
    st.session_state.pop(CAPTCHA, None)
    wait_for_code(customer_id, phone, email)
    st.rerun()


st.title("Регистрация")
registering = waiting()
if registering is not None:
    code_step(registering, REGISTERED, "Заполнить форму заново")
else:
    _form()
