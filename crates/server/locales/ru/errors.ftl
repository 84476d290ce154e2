# Текст ошибок API, техническая причина которых не для читателя страницы: `error-<code>`.
# Техническая причина, если она есть, — в поле `reason` ответа.

## Запрос
error-malformed_json = Тело запроса не является корректным JSON.
error-invalid_body = Тело запроса не соответствует схеме: проверьте поля и их типы.
error-unsupported_media_type = Тело запроса не в ожидаемом формате (JSON или multipart/form-data для изображений).
error-body_too_large = Тело запроса слишком большое.
error-bad_body = Тело запроса не удаётся прочитать.
error-bad_query = Неверные параметры запроса.
error-bad_idempotency_key = Заголовок Idempotency-Key должен содержать от 1 до 200 видимых знаков.
error-bad_upload = Загруженный файл не удалось прочитать: отправьте изображение ещё раз.
error-bad_date = Введите дату в виде ГГГГ-ММ-ДД.
error-bad_region = Выберите регион по его коду.
error-unknown_reason = Выберите причину: истекает срок, смена ФИО, утеря, порча или другая.
error-unknown_state = Этот статус нельзя показать здесь.
error-state_not_in_queue = Этот статус нельзя показать здесь.
error-unknown_annulment_reason = Выберите причину: фотография не соответствует требованиям, подпись не соответствует требованиям или требуется дополнительная проверка.
error-invalid_staff = Данные учётной записи сотрудника неверны.
error-invalid_staff-username = Имя пользователя: от 1 до 64 латинских букв, цифр, «.», «_» или «-».
error-invalid_staff-password_too_short = Пароль должен содержать не менее 12 символов.
error-invalid_staff-unknown_role = Выберите роль: сотрудник УМС, оператор изготовления, оператор регистрационного пункта или администратор.
error-invalid_staff-unknown_region = Выберите регион из списка.
error-invalid_staff-unknown_point = Выберите регистрационный пункт из списка.
error-invalid_staff-iin = ИИН — это 12 цифр с верной контрольной цифрой; оставьте поле пустым, если сотрудник подписывает только привязанным сертификатом.
error-invalid_staff-officer_without_region = Сотрудник УМС работает в одном регионе: выберите его.
error-invalid_staff-point_operator_without_point = Оператор работает в одном регистрационном пункте: выберите его.
error-invalid_staff-region_for_another_role = Регион указывается только для сотрудника УМС: для этой роли оставьте его пустым.
error-invalid_staff-point_for_another_role = Регистрационный пункт указывается только для его оператора: для этой роли оставьте его пустым.
error-invalid_staff-not_a_staff_role = Эта роль не относится к сотрудникам.

## Сервис
error-internal_error = На нашей стороне произошла ошибка. Ничего не изменено; попробуйте ещё раз.
error-workers_not_running = Фоновые процессы сервиса не работают.
error-rules_unavailable = Сегодня не действуют никакие правила: онлайн-услуга не активна.
error-ticket_unavailable = Не удалось выдать номер талона. Попробуйте ещё раз.
error-entropy_unavailable = На нашей стороне произошла ошибка. Ничего не изменено; попробуйте ещё раз.
error-image_checks_unavailable = Проверка фотографии и подписи сейчас недоступна. Попробуйте ещё раз.
error-gateway_unavailable = Платёжный сервис сейчас недоступен. Попробуйте позже.

## Подписи (цепочка доверия)
error-malformed_signature = Подпись не удаётся прочитать.
error-malformed_certificate = Сертификат не удаётся прочитать.
error-digest_mismatch = Подписанные данные отличаются от текущих данных заявки.
error-bad_signature = Подпись не проходит проверку.
error-untrusted_certificate = Сертификат выдан не доверенным удостоверяющим центром.
error-certificate_expired = Срок действия сертификата истёк.
error-certificate_not_yet_valid = Сертификат ещё не действует.
error-certificate_revoked = Сертификат отозван.
error-wrong_key_usage = Этим сертификатом нельзя подписывать документы.
error-certificate_without_iin = Сертификат не указывает ИИН владельца: подпишите сертификатом НУЦ РК.
error-certificate_of_another_person = Сертификат принадлежит другому человеку: подпишите сертификатом, выданным на ваш ИИН.
error-certificate_of_another_organisation = Сертификат выдан не для вашего УМС: подпишите сертификатом вашей организации.
error-certificate_policy_not_accepted = Политика этого сертификата не принимается для подписи здесь.
error-unsupported_algorithm = Алгоритм подписи не поддерживается.
error-signing_time_in_future = Время подписания указано в будущем.
error-malformed_key = Ключ подписи нельзя использовать.
error-key_certificate_mismatch = Ключ подписи не соответствует сертификату.
error-wrong_pin = Неверный PIN-код.
error-weak_pin = PIN-код слишком короткий.
error-malformed_sealed_key = Сохранённый ключ подписи не удаётся прочитать: попросите администратора заново привязать сертификат.
error-invalid_trust_store = Доверенные сертификаты настроены неверно: обратитесь к администратору.
error-invalid_revocation_list = Список отзыва нельзя использовать: обратитесь к администратору.
error-invalid_document = Документ для подписи неверен.
error-approval_missing = Подпись одобрения для этой заявки не записана.
error-data_missing = Нет данных заявки, нужных для подписываемого документа.
error-document_mismatch = Подписанный документ не совпадает с текущими данными заявки: получите его заново и подпишите.
error-no_trust_anchors = Доверенные сертификаты не настроены: одобрить ничего нельзя. Обратитесь к администратору.
error-signer_not_officer_of_region = Подписавший не является сотрудником УМС региона заявки.
error-signer_not_this_officer = Подпись сделана не вашим привязанным сертификатом.

## Refusals the API states in words of its own
error-approval_document_stale = Документ для подписи устарел: получите его заново и подпишите.
error-submission_document_stale = Документ для подписи устарел: получите его заново и подпишите.
error-no_remote_signing_key = Ваш ключ для удалённой подписи не зарегистрирован.
error-pin_signing_off = Подписание по PIN-коду отключено: подпишите своей ЭЦП через NCALayer.
error-revocation_status_unknown = Сейчас невозможно проверить, не отозван ли сертификат (служба OCSP не отвечает). Повторите через несколько минут.
error-invalid_time_stamp = Метка времени в подписи недействительна: подпишите заново.
error-staff_scope_invalid = Вашей учётной записи не назначен регион или регистрационный пункт, который нужен для её роли. Обратитесь к администратору.
error-cross_site_request = Запрос пришёл с другого сайта и отклонён.
error-too_many_codes = Слишком много запросов кода. Повторите через 15 минут.
error-wrong_code = Код неверен. { $left ->
    [one] Осталась { $left } попытка.
    [few] Осталось { $left } попытки.
   *[other] Осталось { $left } попыток.
}
error-wrong_credentials = Неверное имя пользователя или пароль.
error-holder_not_in_register = В регистре населения нет записи о владельце документа: выдать документ нельзя.
error-invalid_date = Укажите дату в виде ГГГГ-ММ-ДД.
error-invalid_period = Начало периода позже его конца.
error-period_too_long = Период не может быть длиннее 366 дней.
error-already_delivered = Сообщение уже доставлено, повторять не нужно.
error-refund_not_pending = По этому платежу возврат не ожидается.
error-bad_phone = Введите номер телефона в виде +7XXXXXXXXXX (например, +7 701 123 45 67).
error-bad_language = Выберите язык: казахский, русский или английский.
error-idempotency_key_reused = Этот Idempotency-Key уже использован для другого запроса.
error-not_in_register = Сведения о вас не найдены в регистре населения. Обратитесь в ЦОН.
error-unknown_registration_point = Такого регистрационного пункта нет.
error-upload_too_large = Файл слишком большой.
error-unsupported_image = Принимаются только изображения JPEG или PNG.
error-too_many_checks = Слишком много проверок. Повторите немного позже.
error-activation_in_past = Нельзя ввести правила с прошедшей даты: принятые решения приняты по правилам своего дня. Выберите сегодняшнюю или более позднюю дату.
error-activation_too_far_ahead = Нельзя ввести правила с даты больше чем на два года вперёд.
error-signature_required = Одобрение только с подписью: отправьте документ и CMS-подпись либо PIN-код.
error-ticket_not_at_this_point = По этому талону документ в этом регистрационном пункте не ожидается.
error-unknown_old_card = Отметьте, что стало с прежним удостоверением: сдано (surrendered) или не предъявлено (not_presented).

## Who is asking, and the store
error-not_found = Запрошенная запись не найдена.
error-unauthorized = Войдите в систему.
error-forbidden = У вас нет прав на это действие.
error-conflict = Заявка только что изменилась. Обновите страницу и повторите.
error-live_application_exists = У вас уже есть заявка в работе: новую можно подать после её завершения.
error-username_taken = Это имя пользователя уже занято.
error-store_unavailable = Сервис временно недоступен. Повторите позже.
error-duplicate = Такая запись уже есть.
error-duplicate_idempotency_key = Этот запрос уже обрабатывается.
error-duplicate_ticket = Не удалось получить номер талона. Повторите попытку.

## An upload the checks cannot read
error-empty_file = Файл пустой. Выберите изображение заново и загрузите его.
error-file_too_large = Файл слишком большой. Сохраните изображение в меньшем размере (например, JPEG 600×800 пикселей) и загрузите снова.
error-unsupported_format = Принимаются только изображения JPEG или PNG. Сохраните изображение в формате JPEG и загрузите снова.
error-image_too_small = Изображение слишком маленькое. Загрузите исходное изображение без уменьшения.
error-image_too_large = Размер изображения слишком большой. Уменьшите его (например, до 600×800 пикселей) и загрузите снова.
error-truncated_image = Файл загружен не полностью или повреждён. Сохраните изображение заново и загрузите его.
error-corrupt_image = Файл повреждён и не читается как изображение. Сохраните изображение заново и загрузите его.
error-memory_limit_exceeded = Изображение невозможно обработать: оно слишком большое. Загрузите изображение меньшего размера.

## Fields
error-comment_required = Напишите комментарий для гражданина (до 1000 знаков).
error-activation_after_period = Этот набор правил действует по { $until }: его нельзя ввести с более поздней даты.
error-unknown_document_kind = Выберите вид документа: удостоверение личности (identity-card) или паспорт (passport).
error-bad_document_number = Номер документа не соответствует формату: удостоверение личности — 9 цифр, паспорт — N и 8 цифр.
error-method_not_allowed = Этот адрес не принимает такой запрос.

## Administration and the gateway
error-date_out_of_range = Дата должна быть между { $earliest } и { $latest }.
error-callback_signature_invalid = Подпись уведомления платёжного шлюза не подтверждена.
error-bad_callback = Уведомление платёжного шлюза не читается.
error-unknown_payment = Такого платежа нет.
error-amount_mismatch = Сумма в уведомлении не совпадает с суммой платежа.
error-bad_mrp_table = Таблица МРП неверна: пошлину рассчитать нельзя. Её должен исправить администратор.
error-no_mrp_for_year = МРП на этот год неизвестен: пошлину рассчитать нельзя. Его должен добавить администратор.
error-no_duty_for_kind = Действующие правила не задают пошлину за этот документ. Их должен исправить администратор.
error-code_expired = Срок действия кода истёк или код уже использован. Запросите новый код.
error-code_locked = Код слишком много раз введён неверно. Запросите новый код.
