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
error-unknown_state = Это состояние нельзя показать здесь.
error-state_not_in_queue = Это состояние нельзя показать здесь.
error-unknown_annulment_reason = Выберите причину: фото не соответствует требованиям, подпись не соответствует требованиям или требуется дополнительная проверка.
error-invalid_staff = Данные учётной записи сотрудника неверны.

## Сервис
error-internal_error = На нашей стороне произошла ошибка. Ничего не изменено; попробуйте ещё раз.
error-workers_not_running = Фоновые процессы сервиса не работают.
error-rules_unavailable = Сегодня не действуют никакие правила: онлайн-услуга не активна.
error-ticket_unavailable = Не удалось выдать номер талона. Попробуйте ещё раз.
error-entropy_unavailable = На нашей стороне произошла ошибка. Ничего не изменено; попробуйте ещё раз.
error-image_checks_unavailable = Проверка фото и подписи сейчас недоступна. Попробуйте ещё раз.
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
